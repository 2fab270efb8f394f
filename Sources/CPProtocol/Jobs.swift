/// The body of `build.howTo.<type>` (MajorDomo → Chefs): who can make `goal` from `have`?
public struct HowTo: Codable, Sendable, Equatable {
    /// The artefact wanted, relative to its project.
    public var goal: String
    /// Artefacts at hand.
    public var have: [String]

    public init(goal: String, have: [String]) {
        self.goal = goal
        self.have = have
    }
}

/// The body of `build.canFrom.<type>` (Chef → MajorDomo): the answer to a `howTo`.
public struct CanFrom: Codable, Sendable, Equatable {
    public var canBuild: String
    public var from: [String]
    /// Files the rule also reads if they exist (secondary inputs: `.aux`, `.bbl`).
    public var auxiliaries: [String]
    public var chefName: String
    public var ruleName: String

    public init(canBuild: String, from: [String], auxiliaries: [String] = [], chefName: String, ruleName: String) {
        self.canBuild = canBuild
        self.from = from
        self.auxiliaries = auxiliaries
        self.chefName = chefName
        self.ruleName = ruleName
    }
}

/// The body of `build.from.<chefKind>` (MajorDomo → one Chef, through the work queue): one task
/// to run. It names the rule, never a command: the Chef runs the argv of its own rule.
public struct Job: Codable, Sendable, Equatable {
    /// Where the job's inputs live and where its outputs go back to.
    public struct Source: Codable, Sendable, Equatable {
        /// The pod holding the project's files.
        public var pod: String
        /// `[user@]host[:port]` of that pod's SFTP server; nil when the files are only local.
        public var sftp: String?
        /// The project's root on that pod.
        public var root: String

        public init(pod: String, sftp: String? = nil, root: String) {
            self.pod = pod
            self.sftp = sftp
            self.root = root
        }
    }

    /// What the rule's argv placeholders stand for in this task, in the task's order (the
    /// `inputs` and `secondaryInputs` maps have none): the Chef expands the `build` of its
    /// own rule with them. Paths, never a command.
    public struct Placeholders: Codable, Sendable, Equatable {
        /// Primary inputs in order: `{{input}}` is the first.
        public var dependencies: [String]
        /// Secondary inputs in order; those that do not exist are left out of the argv.
        public var secondaryDependencies: [String]
        /// What `%` matched (pattern rules), else the main file's name without extension.
        public var stem: String
        public var mainFile: String

        public init(dependencies: [String], secondaryDependencies: [String] = [], stem: String, mainFile: String) {
            self.dependencies = dependencies
            self.secondaryDependencies = secondaryDependencies
            self.stem = stem
            self.mainFile = mainFile
        }
    }

    /// Unique per job; the `Nats-Msg-Id` of its result, so a late duplicate is dropped.
    public var jobId: String
    public var buildId: String
    public var project: String
    public var task: String
    public var rule: String
    /// Primary inputs: path → lowercase hex SHA-256.
    public var inputs: [String: String]
    /// Secondary inputs: path → SHA-256, or null for one that does not exist (yet).
    public var secondaryInputs: [String: String?]
    public var outputs: [String]
    /// The pass of a cyclic component this run belongs to (1 outside cycles).
    public var pass: Int
    public var source: Source
    /// Absent (a MajorDomo before it): inputs in path order, the first output's stem.
    public var placeholders: Placeholders
    /// Other files of the project the task reads, path → SHA-256, for a Chef working in a
    /// mirror to fetch as well: what its tool reported reading last time (an `\input`
    /// chapter, a header), or, before its first run, the project's sources. Absent when the
    /// project names no SFTP server (every Chef then sees its files where they are) or the
    /// task's rule has no `discover`.
    public var context: [String: String]?

    public init(
        jobId: String, buildId: String, project: String, task: String, rule: String, inputs: [String: String],
        secondaryInputs: [String: String?] = [:], outputs: [String], pass: Int = 1, source: Source,
        placeholders: Placeholders? = nil, context: [String: String]? = nil
    ) {
        self.jobId = jobId
        self.buildId = buildId
        self.project = project
        self.task = task
        self.rule = rule
        self.inputs = inputs
        self.secondaryInputs = secondaryInputs
        self.outputs = outputs
        self.pass = pass
        self.source = source
        self.placeholders =
            placeholders ?? Self.derivedPlaceholders(inputs: inputs, secondaryInputs: secondaryInputs, outputs: outputs)
        self.context = context
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jobId = try container.decode(String.self, forKey: .jobId)
        buildId = try container.decode(String.self, forKey: .buildId)
        project = try container.decode(String.self, forKey: .project)
        task = try container.decode(String.self, forKey: .task)
        rule = try container.decode(String.self, forKey: .rule)
        inputs = try container.decode([String: String].self, forKey: .inputs)
        secondaryInputs = try container.decodeIfPresent([String: String?].self, forKey: .secondaryInputs) ?? [:]
        outputs = try container.decode([String].self, forKey: .outputs)
        pass = try container.decodeIfPresent(Int.self, forKey: .pass) ?? 1
        source = try container.decode(Source.self, forKey: .source)
        placeholders =
            try container.decodeIfPresent(Placeholders.self, forKey: .placeholders)
            ?? Self.derivedPlaceholders(inputs: inputs, secondaryInputs: secondaryInputs, outputs: outputs)
        context = try container.decodeIfPresent([String: String].self, forKey: .context)
    }

    enum CodingKeys: String, CodingKey {
        case jobId, buildId, project, task, rule, inputs, secondaryInputs, outputs, pass, source, placeholders, context
    }

    /// Every path the job names: inputs, secondary inputs, outputs and the placeholders' paths.
    public var allPaths: [String] {
        Array(inputs.keys) + Array(secondaryInputs.keys) + outputs + placeholders.dependencies
            + placeholders.secondaryDependencies + (placeholders.mainFile.isEmpty ? [] : [placeholders.mainFile])
            + Array((context ?? [:]).keys)
    }

    static func derivedPlaceholders(inputs: [String: String], secondaryInputs: [String: String?], outputs: [String])
        -> Placeholders
    {
        let dependencies = inputs.keys.sorted()
        let first = outputs.first ?? dependencies.first ?? ""
        let name = first.split(separator: "/").last.map(String.init) ?? first
        let stem = name.lastIndex(of: ".").map { String(name[..<$0]) } ?? name
        return Placeholders(
            dependencies: dependencies, secondaryDependencies: secondaryInputs.keys.sorted(), stem: stem,
            mainFile: dependencies.first ?? "")
    }
}

/// The body of `build.results.<jobId>` (Chef → MajorDomo, captured by JetStream).
public struct JobResult: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case succeeded, failed, cancelled
    }

    /// What the Chef found of an output it wrote.
    public struct Output: Codable, Sendable, Equatable {
        public var size: UInt64
        /// Seconds since the epoch.
        public var mtime: Double
        public var sha256: String

        public init(size: UInt64, mtime: Double, sha256: String) {
            self.size = size
            self.mtime = mtime
            self.sha256 = sha256
        }
    }

    public var jobId: String
    public var result: Outcome
    /// The command's exit status (128 + signal when a signal ended it); nil if it never ran.
    public var exitCode: Int32?
    /// Seconds the job took.
    public var elapsed: Double
    /// Path → what was written; only for outputs that exist.
    public var outputs: [String: Output]
    /// One line on what went wrong (or empty).
    public var details: String
    /// The files inside the project that the tool reported reading (its rule's `discover`:
    /// a TeX `.fls`, a depfile), relative to the project root; absent when it reports nothing.
    public var discovered: [String]?

    public init(
        jobId: String, result: Outcome, exitCode: Int32?, elapsed: Double, outputs: [String: Output] = [:],
        details: String = "", discovered: [String]? = nil
    ) {
        self.jobId = jobId
        self.result = result
        self.exitCode = exitCode
        self.elapsed = elapsed
        self.outputs = outputs
        self.details = details
        self.discovered = discovered
    }
}

/// The body of `build.cancel.<jobId>` (MajorDomo → the Chef running it, core NATS).
public struct JobCancel: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// A newer change made the job pointless.
        case superseded
        /// The user cancelled the build.
        case cancelledByUser
    }

    public var jobId: String
    public var reason: Reason

    public init(jobId: String, reason: Reason) {
        self.jobId = jobId
        self.reason = reason
    }
}

/// The body of `logger.<project>.<task>` (Chef → MajorDomo and `cp ctrl`, core NATS): a batch of
/// a running job's output lines.
public struct LogLines: Codable, Sendable, Equatable {
    public enum Stream: String, Codable, Sendable, CaseIterable { case stdout, stderr }

    public var jobId: String
    public var task: String
    public var stream: Stream
    public var lines: [String]

    public init(jobId: String, task: String, stream: Stream, lines: [String]) {
        self.jobId = jobId
        self.task = task
        self.stream = stream
        self.lines = lines
    }
}

/// The body of `security.hostPublicKeys` (MajorDomo → Chefs, the answer to
/// `security.getHostPublicKeys`): the SSH host keys of the pods, for strict checking.
public struct HostPublicKeys: Codable, Sendable, Equatable {
    public struct Key: Codable, Sendable, Equatable {
        /// As in known_hosts: `host` or `[host]:port`.
        public var host: String
        /// `ssh-ed25519`, `ecdsa-sha2-nistp256`…
        public var keyType: String
        /// The key, base64.
        public var key: String

        public init(host: String, keyType: String, key: String) {
            self.host = host
            self.keyType = keyType
            self.key = key
        }
    }

    public var keys: [Key]

    public init(keys: [Key]) { self.keys = keys }
}
