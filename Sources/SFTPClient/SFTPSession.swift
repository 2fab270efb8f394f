import CLibSSH
import CPModel
import Foundation
import Synchronization

/// How to reach and trust an SFTP server.
public struct SFTPOptions: Sendable {
    /// A private key file; without one, the ssh-agent at `SSH_AUTH_SOCK` is asked.
    public var identity: String?
    /// The key's passphrase, if it has one.
    public var passphrase: String?
    /// The known_hosts file host keys are checked against (and `acceptNew` writes to).
    public var knownHosts: String
    /// Trust and record the key of a host never seen before (OpenSSH's `accept-new`). A
    /// changed key is refused whatever this says.
    public var acceptNew = false
    public var connectTimeout: Duration = .seconds(10)

    public init(knownHosts: String) {
        self.knownHosts = knownHosts
    }
}

/// The libssh and SFTP handles of one session; used only on the session's own thread.
struct SSHHandles: @unchecked Sendable {
    let session: OpaquePointer
    let sftp: sftp_session
}

/// One SFTP session. libssh sessions are not thread-safe and every call blocks, so the
/// session lives on a thread of its own and every operation is queued to it.
public final class SFTPSession: Sendable {
    public let address: SFTPAddress
    public let user: String
    /// What the session was opened with; parallel uploads open more sessions with it.
    let options: SFTPOptions
    let thread: SerialThread
    let handles: SSHHandles
    private let closed = Mutex(false)

    private init(address: SFTPAddress, user: String, options: SFTPOptions, thread: SerialThread, handles: SSHHandles) {
        self.address = address
        self.user = user
        self.options = options
        self.thread = thread
        self.handles = handles
    }

    deinit {
        // Normally `close()` has run; this is the fallback for a session dropped without it.
        guard !closed.withLock({ $0 }) else { return }
        let handles = self.handles
        let thread = self.thread
        Task {
            await thread.run { () throws(Never) in SFTPSession.free(handles) }
            thread.stop()
        }
    }

    /// Ends the session and frees libssh's handles on the session's thread. Call it before
    /// the process exits: freeing from a task racing `exit` crashed.
    public func close() async {
        guard
            !closed.withLock({ closed in
                defer { closed = true }; return closed
            })
        else { return }
        let handles = self.handles
        await thread.run { () throws(Never) in SFTPSession.free(handles) }
        thread.stop()
    }

    private static func free(_ handles: SSHHandles) {
        sftp_free(handles.sftp)
        ssh_disconnect(handles.session)
        ssh_free(handles.session)
    }

    /// Connects, checks the host key, authenticates and starts SFTP.
    public static func connect(_ address: SFTPAddress, options: SFTPOptions) async throws(SFTPError) -> SFTPSession {
        let thread = SerialThread(name: "sftp-\(address.host)")
        let user = address.user ?? currentUserName()
        do {
            let handles = try await thread.run { () throws(SFTPError) -> SSHHandles in
                try SSHConnector(address: address, user: user, options: options).open()
            }
            return SFTPSession(address: address, user: user, options: options, thread: thread, handles: handles)
        } catch {
            thread.stop()
            throw error
        }
    }

    /// Runs `body` with the handles on the session's thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (SSHHandles) throws(SFTPError) -> T) async throws(SFTPError) -> T
    {
        let handles = self.handles
        return try await thread.run { () throws(SFTPError) -> T in try body(handles) }
    }

    private static func currentUserName() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "root" }
        return String(cString: name)
    }
}

extension SSHHandles {
    /// The error for a failed SFTP call on `path`, from `sftp_get_error` and libssh's text.
    func error(_ operation: String, _ path: String) -> SFTPError {
        let code = sftp_get_error(sftp)
        let reason: String
        switch code {
        case SSH_FX_NO_SUCH_FILE: reason = "no such file or directory"
        case SSH_FX_PERMISSION_DENIED: reason = "permission denied"
        case SSH_FX_FILE_ALREADY_EXISTS: reason = "already exists"
        case SSH_FX_OP_UNSUPPORTED: reason = "not supported by the server"
        case SSH_FX_CONNECTION_LOST, SSH_FX_NO_CONNECTION: return .connectionLost(path: path)
        default:
            if ssh_is_connected(session) == 0 { return .connectionLost(path: path) }
            let text = ssh_get_error(UnsafeMutableRawPointer(session)).map { String(cString: $0) } ?? ""
            reason = text.isEmpty ? "failed (SFTP status \(code))" : text
        }
        return .remote(operation: operation, path: path, reason: reason)
    }

    /// The error for a failed write. SFTP (version 3) has no "disk full": the server answers
    /// a generic failure for ENOSPC, EDQUOT and EFBIG alike, so say what it most likely means.
    func writeError(_ path: String) -> SFTPError {
        guard sftp_get_error(sftp) == SSH_FX_FAILURE, ssh_is_connected(session) != 0 else {
            return error("put", path)
        }
        return .remote(
            operation: "put", path: path,
            reason: "the server could not write it (its disk is full, or a quota or file-size limit was reached)")
    }
}
