import CLibSSH
import Foundation

/// The steps of opening a session, run on the session's thread: options, connect, host key,
/// authentication, SFTP. On any failure everything made so far is freed.
struct SSHConnector {
    let address: SFTPAddress
    let user: String
    let options: SFTPOptions

    func open() throws(SFTPError) -> SSHHandles {
        guard let session = ssh_new() else { throw .connect(host: address.host, reason: "ssh_new failed") }
        do throws(SFTPError) {
            try configure(session)
            guard ssh_connect(session) == SSH_OK else {
                throw .connect(host: address.knownHostsName, reason: lastError(session))
            }
            try checkHostKey(session)
            try authenticate(session)
            guard let sftp = sftp_new(session) else {
                throw .connect(host: address.knownHostsName, reason: "cannot start SFTP: \(lastError(session))")
            }
            guard sftp_init(sftp) == SSH_OK else {
                sftp_free(sftp)
                throw .connect(host: address.knownHostsName, reason: "cannot start SFTP: \(lastError(session))")
            }
            return SSHHandles(session: session, sftp: sftp)
        } catch {
            ssh_disconnect(session)
            ssh_free(session)
            throw error
        }
    }

    /// Sets every option deliberately, so a user's ~/.ssh/config or the system's known
    /// hosts do not change what happens (PLATFORM.md).
    private func configure(_ session: OpaquePointer) throws(SFTPError) {
        var port = UInt32(address.port)
        var timeout = Int(max(1, options.connectTimeout.components.seconds))
        var noDelay: Int32 = 1  // PLATFORM.md: without it, writes stall on Nagle
        var processConfig = false
        let failures = [
            ssh_options_set(session, SSH_OPTIONS_HOST, address.host),
            ssh_options_set(session, SSH_OPTIONS_PORT, &port),
            ssh_options_set(session, SSH_OPTIONS_USER, user),
            ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, options.knownHosts),
            ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null"),
            ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &processConfig),
            ssh_options_set(session, SSH_OPTIONS_NODELAY, &noDelay),
            ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout),
        ].filter { $0 != SSH_OK }
        guard failures.isEmpty else { throw .connect(host: address.host, reason: "bad options: \(lastError(session))") }
    }

    private func checkHostKey(_ session: OpaquePointer) throws(SFTPError) {
        let state = ssh_session_is_known_server(session)
        switch state {
        case SSH_KNOWN_HOSTS_OK:
            return
        case SSH_KNOWN_HOSTS_CHANGED, SSH_KNOWN_HOSTS_OTHER:
            throw .hostKeyChanged(
                host: address.knownHostsName, fingerprint: fingerprint(session), knownHosts: options.knownHosts)
        case SSH_KNOWN_HOSTS_UNKNOWN, SSH_KNOWN_HOSTS_NOT_FOUND:
            guard options.acceptNew else {
                throw .unknownHost(
                    host: address.knownHostsName, fingerprint: fingerprint(session), knownHosts: options.knownHosts)
            }
            let directory = (options.knownHosts as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard ssh_session_update_known_hosts(session) == SSH_OK else {
                throw .local(
                    operation: "recording the host key in", path: options.knownHosts, reason: lastError(session))
            }
        default:
            throw .connect(host: address.knownHostsName, reason: "cannot check the host key: \(lastError(session))")
        }
    }

    private func authenticate(_ session: OpaquePointer) throws(SFTPError) {
        let host = address.knownHostsName
        guard let identity = options.identity else {
            guard ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] != nil else {
                throw .authentication(
                    user: user, host: host, reason: "no ssh-agent (SSH_AUTH_SOCK is not set); give a key with -i KEY")
            }
            guard ssh_userauth_agent(session, nil) == SSH_AUTH_SUCCESS.rawValue else {
                throw .authentication(user: user, host: host, reason: "the ssh-agent's keys were refused")
            }
            return
        }
        var key: OpaquePointer?
        guard ssh_pki_import_privkey_file(identity, options.passphrase, nil, nil, &key) == SSH_OK, let key else {
            let reason =
                FileManager.default.isReadableFile(atPath: identity)
                ? "cannot read the key (wrong passphrase, or not a private key)" : "no such key file"
            throw .authentication(user: user, host: host, reason: "'\(identity)': \(reason)")
        }
        defer { ssh_key_free(key) }
        guard ssh_userauth_publickey(session, nil, key) == SSH_AUTH_SUCCESS.rawValue else {
            throw .authentication(user: user, host: host, reason: "the key '\(identity)' was refused")
        }
    }

    /// The server key's SHA256 fingerprint, as OpenSSH prints it.
    private func fingerprint(_ session: OpaquePointer) -> String {
        var key: OpaquePointer?
        guard ssh_get_server_publickey(session, &key) == SSH_OK, let key else { return "unknown" }
        defer { ssh_key_free(key) }
        var hash: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == SSH_OK, let hash else {
            return "unknown"
        }
        defer { var owned: UnsafeMutablePointer<UInt8>? = hash; ssh_clean_pubkey_hash(&owned) }
        guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length) else { return "unknown" }
        defer { ssh_string_free_char(text) }
        return String(cString: text)
    }

    private func lastError(_ session: OpaquePointer) -> String {
        ssh_get_error(UnsafeMutableRawPointer(session)).map { String(cString: $0) } ?? "unknown error"
    }
}
