import CPModel
import CPProtocol
import Foundation
import Hashing
import SFTPClient
import Synchronization

/// A project on another pod (DESIGN §7): its files are fetched by SFTP from the pod the job
/// names into a mirror of the project under the work directory, where the command runs, and
/// its outputs are put back, each atomically. Fetched files are kept by content
/// (`objects/<sha256>`), so an input already here with the right digest — in the mirror or
/// in the store — is not fetched again; a fetched file whose digest is not the job's is a
/// failure, never used. Host keys are checked strictly against `known_hosts`. One session
/// per pod's address, kept open between jobs. A job's thread waits for the transfers, which
/// run on the mirror's actor.
public final class SFTPWorkspace: JobWorkspace {
    let mirror: SFTPMirror

    public init(settings: SFTPMirror.Settings) {
        mirror = SFTPMirror(settings: settings)
    }

    public func prepare(_ job: Job) throws(JobFailure) -> String {
        try Self.wait { () async throws(JobFailure) -> String in try await self.mirror.prepare(job) }
    }

    public func deliver(_ job: Job, outputs: [String: JobResult.Output], from directory: String) throws(JobFailure) {
        try Self.wait { () async throws(JobFailure) in
            try await self.mirror.deliver(job, outputs: outputs, from: directory)
        }
    }

    /// The mirror of `job`'s project.
    public func mirror(of job: Job) -> String { mirror.mirror(of: job) }

    /// `pod:path` of every file fetched, in order.
    public var fetched: [String] { get async { await mirror.fetched } }

    /// Ends every session.
    public func close() async { await mirror.close() }

    /// Blocks the calling thread (a job's own, never the cooperative pool's) until `body` is done.
    static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws(JobFailure) -> T) throws(JobFailure) -> T
    {
        let outcome = Mutex<Result<T, JobFailure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<T, JobFailure>
            do throws(JobFailure) { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }
}

/// The mirrors and the content store behind `SFTPWorkspace`.
public actor SFTPMirror {
    public struct Settings: Sendable {
        /// `mirror/` and `objects/` are made here.
        public var workDirectory: String
        public var options: SFTPOptions

        public init(workDirectory: String, options: SFTPOptions) {
            self.workDirectory = workDirectory
            self.options = options
        }
    }

    /// What this workspace knows of a mirror file it wrote or checked: unchanged since if its
    /// identity is the same.
    struct Known {
        var identity: FileIdentity
        var digest: String
    }

    let settings: Settings
    private var sessions: [String: SFTPSession] = [:]
    private var known: [String: Known] = [:]
    private var downloads: [String: Task<Void, any Error>] = [:]
    /// `pod:path` of every file fetched, in order (what the tests count).
    public private(set) var fetched: [String] = []

    public init(settings: Settings) {
        self.settings = settings
    }

    /// The mirror of `job`'s project: one per pod, project and root.
    public nonisolated func mirror(of job: Job) -> String {
        let root = (try? SHA256Hasher.hex(of: Array(job.source.root.utf8)))?.prefix(8) ?? "root"
        return settings.workDirectory + "/mirror/" + SafeName.of(job.source.pod) + "/"
            + SafeName.of(job.project) + "-" + root
    }

    func prepare(_ job: Job) async throws(JobFailure) -> String {
        let address = try address(of: job)
        let mirror = mirror(of: job)
        do {
            try FileManager.default.createDirectory(atPath: mirror, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(
                atPath: settings.workDirectory + "/objects", withIntermediateDirectories: true)
        } catch {
            throw JobFailure("cannot make the mirror '\(mirror)': \(error.localizedDescription)")
        }
        var wanted: [(path: String, digest: String)] = job.inputs.map { ($0.key, $0.value) }
        for (path, digest) in job.secondaryInputs {
            if let digest {
                wanted.append((path, digest))
            } else {
                // Absent on its pod: a copy left here from an earlier pass must not be read.
                let local = try JobPaths.resolve(path, in: mirror)
                try? FileManager.default.removeItem(atPath: local)
                known[local] = nil
            }
        }
        // The files the task is known (or, before its first run, may be expected) to read.
        let named = Set(wanted.map(\.path)).union(job.secondaryInputs.keys).union(job.outputs)
        for (path, digest) in job.context ?? [:] where !named.contains(path) { wanted.append((path, digest)) }
        for (path, digest) in wanted.sorted(by: { $0.path < $1.path }) {
            let local = try JobPaths.resolve(path, in: mirror)
            try await ensure(local, digest: digest, path: path, from: address, pod: job.source.pod)
        }
        return mirror
    }

    func deliver(_ job: Job, outputs: [String: JobResult.Output], from directory: String)
        async throws(JobFailure)
    {
        let address = try address(of: job)
        var madeDirectories: Set<String> = []
        for (path, output) in outputs.sorted(by: { $0.key < $1.key }) {
            let local = directory + "/" + path
            let remote = address.path + "/" + path
            let parent = (path as NSString).deletingLastPathComponent
            do throws(SFTPError) {
                let session = try await session(for: address)
                if !parent.isEmpty && madeDirectories.insert(parent).inserted {
                    try await session.makeDirectory(address.path + "/" + parent, parents: true)
                }
                try await session.upload(local, to: remote, preserve: true)
            } catch {
                drop(address, after: error)
                throw JobFailure("cannot put output '\(path)' back on pod \(job.source.pod): \(describe(error))")
            }
            if let identity = Self.identity(local) { known[local] = Known(identity: identity, digest: output.sha256) }
        }
    }

    /// Ends every session.
    public func close() async {
        for session in sessions.values { await session.close() }
        sessions = [:]
    }

    // MARK: Internals

    private func address(of job: Job) throws(JobFailure) -> SFTPAddress {
        guard let sftp = job.source.sftp else {
            throw JobFailure("the job names no SFTP server for pod \(job.source.pod)")
        }
        do {
            return try SFTPAddress.parse(sftp + ":" + job.source.root)
        } catch {
            throw JobFailure("the job's SFTP address '\(sftp)' is not [USER@]HOST[:PORT]: \(error)")
        }
    }

    /// Makes `local` hold the file with `digest` (an empty digest: whatever `path` holds on its
    /// pod now, fetched every time).
    private func ensure(_ local: String, digest: String, path: String, from address: SFTPAddress, pod: String)
        async throws(JobFailure)
    {
        if !digest.isEmpty {
            if let identity = Self.identity(local) {
                if let entry = known[local], entry.identity == identity {
                    if entry.digest == digest { return }
                } else if let found = await Self.digest(of: local), found == digest {
                    known[local] = Known(identity: identity, digest: digest)
                    return
                }
            }
            let object = settings.workDirectory + "/objects/" + digest
            if !FileManager.default.fileExists(atPath: object) {
                try await fetchObject(digest, path: path, to: object, from: address, pod: pod)
            }
            try Self.place(object, at: local)
            if let identity = Self.identity(local) { known[local] = Known(identity: identity, digest: digest) }
            return
        }
        let temporary = try await download(path, from: address, pod: pod)
        try Self.place(temporary, at: local, moving: true)
        known[local] = nil
    }

    /// Fetches `path` into the store as `object`, once however many jobs ask for it at once.
    private func fetchObject(_ digest: String, path: String, to object: String, from address: SFTPAddress, pod: String)
        async throws(JobFailure)
    {
        if let running = downloads[digest] {
            do { try await running.value } catch { throw error as? JobFailure ?? JobFailure("\(error)") }
            return
        }
        let task = Task { () async throws -> Void in
            let temporary = try await self.download(path, from: address, pod: pod)
            let found = await Self.digest(of: temporary)
            guard found == digest else {
                try? FileManager.default.removeItem(atPath: temporary)
                throw JobFailure(
                    "input '\(path)' on pod \(pod) is not the one the job was sent for (sha256 "
                        + "\(found?.prefix(12) ?? "unreadable")…, the job says \(digest.prefix(12))…)")
            }
            guard rename(temporary, object) == 0 else {
                try? FileManager.default.removeItem(atPath: temporary)
                throw JobFailure("cannot keep '\(path)' in \(object): \(String(cString: strerror(errno)))")
            }
        }
        downloads[digest] = task
        defer { downloads[digest] = nil }
        do { try await task.value } catch { throw error as? JobFailure ?? JobFailure("\(error)") }
    }

    /// Downloads `path` of the project on its pod to a fresh temporary file; its path.
    private func download(_ path: String, from address: SFTPAddress, pod: String) async throws(JobFailure) -> String {
        let temporary = settings.workDirectory + "/objects/.fetch-\(UInt64.random(in: 0...UInt64.max))"
        do throws(SFTPError) {
            let session = try await session(for: address)
            try await session.download(address.path + "/" + path, to: temporary)
        } catch {
            drop(address, after: error)
            throw JobFailure("cannot fetch input '\(path)' from pod \(pod): \(describe(error))")
        }
        fetched.append(pod + ":" + path)
        return temporary
    }

    private func session(for address: SFTPAddress) async throws(SFTPError) -> SFTPSession {
        let key = Self.key(address)
        if let session = sessions[key] { return session }
        let session = try await SFTPSession.connect(address, options: settings.options)
        if let other = sessions[key] {  // another job connected meanwhile
            await session.close()
            return other
        }
        sessions[key] = session
        return session
    }

    /// Forgets the session of `address` after an error that may have broken it.
    private func drop(_ address: SFTPAddress, after error: SFTPError) {
        switch error {
        case .connectionLost, .connect: sessions[Self.key(address)] = nil
        default: break
        }
    }

    private static func key(_ address: SFTPAddress) -> String {
        "\(address.user ?? "")@\(address.host):\(address.port)"
    }

    /// The Chef has no `--accept-new`: an unknown host is refused with what to do.
    private func describe(_ error: SFTPError) -> String {
        guard case .unknownHost(let host, let fingerprint, let knownHosts) = error else { return "\(error)" }
        return "unknown host \(host) (key \(fingerprint)) refused: host keys are checked strictly; "
            + "add its key to \(knownHosts) (ssh-keyscan) or give --known-hosts"
    }

    /// Copies (or moves) `source` to `local` through a temporary file beside it: a reader never
    /// sees half a file, and the store's copy stays whole whatever a tool does to `local`.
    private static func place(_ source: String, at local: String, moving: Bool = false) throws(JobFailure) {
        let directory = (local as NSString).deletingLastPathComponent
        let temporary = directory + "/.cp-in-\(UInt64.random(in: 0...UInt64.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if moving {
                try FileManager.default.moveItem(atPath: source, toPath: temporary)
            } else {
                try FileManager.default.copyItem(atPath: source, toPath: temporary)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw JobFailure("cannot place '\(local)': \(error.localizedDescription)")
        }
        guard rename(temporary, local) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw JobFailure("cannot place '\(local)': \(reason)")
        }
    }

    private static func identity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return FileIdentity(info)
    }

    private static func digest(of path: String) async -> String? {
        await blockingCall("chef-hash") { () -> String? in try? SHA256Hasher.hex(ofFileAt: path) }
    }
}
