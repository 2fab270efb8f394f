/// The subjects of DESIGN §3, built from their parts. User data (paths, pods, names) is
/// escaped token by token (`SubjectToken`); bodies carry the unescaped values.
public enum Subjects {
    /// `heartbeat.<role>.<name>`.
    public static func heartbeat(role: String, name: String) -> String {
        "heartbeat.\(SubjectToken.escape(role)).\(SubjectToken.escape(name))"
    }

    /// `fileChanged.<reason>.<pod>.<path tokens>`; the root itself is the token `%`.
    public static func fileChanged(_ reason: FileChange.Reason, pod: String, path: String) -> String {
        let tokens = path.isEmpty ? "%" : SubjectToken.escape(path: path)
        return "fileChanged.\(reason.rawValue).\(SubjectToken.escape(pod)).\(tokens)"
    }

    /// Every file change, whatever the reason, pod or path.
    public static let fileChangedAll = "fileChanged.>"

    /// `watchRequest.<pod>`.
    public static func watchRequest(pod: String) -> String { "watchRequest.\(SubjectToken.escape(pod))" }

    /// What a Chef or a loader registers.
    public enum Registration: String, Sendable, CaseIterable {
        case types, rules, tasks, projects
    }

    /// `register.types`, `register.rules`, `register.tasks`, `register.projects`.
    public static func register(_ what: Registration) -> String { "register.\(what.rawValue)" }

    /// Every registration.
    public static let registerAll = "register.>"

    /// What the MajorDomo announces as registered.
    public enum Announcement: String, Sendable, CaseIterable {
        case types, rules, tasks, artefacts
    }

    /// `registered.types`, `.rules`, `.tasks`, `.artefacts`.
    public static func registered(_ what: Announcement) -> String { "registered.\(what.rawValue)" }

    /// The MajorDomo's call, at its start, for every Chef to register again.
    public static let registerTypesAgain = "artefacts.registerTypes"

    /// `build.howTo.<type>`.
    public static func howTo(type: String) -> String { "build.howTo.\(SubjectToken.escape(type))" }

    /// `build.canFrom.<type>`.
    public static func canFrom(type: String) -> String { "build.canFrom.\(SubjectToken.escape(type))" }

    /// `build.from.<chefKind>`: the work queue of one kind of Chef.
    public static func buildFrom(kind: String) -> String { "build.from.\(SubjectToken.escape(kind))" }

    /// Every job, whatever the kind.
    public static let buildFromAll = "build.from.>"

    /// `build.results.<jobId>`.
    public static func buildResults(jobId: String) -> String { "build.results.\(SubjectToken.escape(jobId))" }

    /// Every job result.
    public static let buildResultsAll = "build.results.>"

    /// `build.cancel.<jobId>`.
    public static func buildCancel(jobId: String) -> String { "build.cancel.\(SubjectToken.escape(jobId))" }

    /// `logger.<project>.<task>`.
    public static func logger(project: String, task: String) -> String {
        "logger.\(SubjectToken.escape(project)).\(SubjectToken.escape(task))"
    }

    /// `failed.<subject>`: where the failure to handle a message on `subject` is reported.
    public static func failed(_ subject: String) -> String { "failed." + subject }

    /// A Chef's request for the pods' SSH host keys.
    public static let getHostPublicKeys = "security.getHostPublicKeys"

    /// The MajorDomo's answer: the pods' SSH host keys.
    public static let hostPublicKeys = "security.hostPublicKeys"
}
