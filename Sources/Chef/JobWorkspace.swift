import CPModel
import CPProtocol
import Foundation
import Hashing

/// Where a job's files are (DESIGN §7): its inputs made present and verified before the
/// command runs, its outputs put back after. Both block the caller's thread (a job's own).
public protocol JobWorkspace: Sendable {
    /// Makes the job's inputs present, each with the digest the job gives; the directory the
    /// command runs in (the project root, or its mirror).
    func prepare(_ job: Job) throws(JobFailure) -> String
    /// Puts the outputs written in `directory` back where the project lives.
    func deliver(_ job: Job, outputs: [String: JobResult.Output], from directory: String) throws(JobFailure)
}

/// The project root at the same path on this machine as on the pod that holds it: inputs
/// are there already, checked against the job's digests; outputs stay where they are written.
public struct SharedWorkspace: JobWorkspace {
    /// The roots a job may name (`--allow`).
    public let allowed: AllowedRoots

    public init(allowed: AllowedRoots = AllowedRoots([])) {
        self.allowed = allowed
    }

    public func prepare(_ job: Job) throws(JobFailure) -> String {
        let root = job.source.root
        guard allowed.allows(root) else { throw JobFailure("the project root " + allowed.refusal(root)) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw JobFailure("the project root '\(root)' is not on this machine (and the job names no SFTP server)")
        }
        try InputCheck.verify(job, in: root)
        return root
    }

    public func deliver(_ job: Job, outputs: [String: JobResult.Output], from directory: String) throws(JobFailure) {}
}

/// Checks that the inputs a job names are the files it was sent for.
enum InputCheck {
    /// Every primary input exists and has the job's digest (an empty digest: the MajorDomo
    /// knew none; it must exist); every secondary input the job gives a digest for has it.
    static func verify(_ job: Job, in directory: String) throws(JobFailure) {
        var expected: [(path: String, digest: String?)] = job.inputs.map { ($0.key, $0.value.isEmpty ? nil : $0.value) }
        for case (let path, let digest?) in job.secondaryInputs { expected.append((path, digest)) }
        guard !expected.isEmpty else { return }
        expected.sort { $0.path < $1.path }
        let checks = expected
        let problem = { () -> String? in
            guard let hasher = try? FileHasher() else { return "cannot start hashing" }
            for (path, digest) in checks {
                let full = directory + "/" + path
                guard let found = try? hasher.hash(full, followingLinks: true) else {
                    return "input '\(path)' is missing"
                }
                if let digest, found.digest.hex != digest {
                    return
                        "input '\(path)' is not the one the job was sent for (sha256 \(found.digest.hex.prefix(12))…, "
                        + "the job says \(digest.prefix(12))…)"
                }
            }
            return nil
        }()
        if let problem { throw JobFailure(problem) }
    }

    /// What each of `outputs` that exists in `directory` is: size, time, digest.
    static func describe(_ outputs: [String], in directory: String) -> [String: JobResult.Output] {
        guard !outputs.isEmpty, let hasher = try? FileHasher() else { return [:] }
        var described: [String: JobResult.Output] = [:]
        for path in outputs {
            guard let found = try? hasher.hash(directory + "/" + path, followingLinks: true), !found.changedWhileRead
            else { continue }
            described[path] = JobResult.Output(
                size: found.after.size, mtime: Double(found.after.modified) / 1e9, sha256: found.digest.hex)
        }
        return described
    }
}
