/// The body of `register.types` (Chef → MajorDomo): one type a Chef knows, by its file globs.
public struct RegisterType: Codable, Sendable, Equatable {
    public var chefName: String
    public var typeName: String
    /// Globs of the files of this type (`*.tex`); empty: files with no extension (programs).
    public var extensions: [String]
    /// Log files are streamed while they grow and never hashed (DESIGN §11).
    public var isLog: Bool

    public init(chefName: String, typeName: String, extensions: [String], isLog: Bool = false) {
        self.chefName = chefName
        self.typeName = typeName
        self.extensions = extensions
        self.isLog = isLog
    }

    /// `isLog` may be left out, as the originals leave it out.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        chefName = try container.decode(String.self, forKey: .chefName)
        typeName = try container.decode(String.self, forKey: .typeName)
        extensions = try container.decode([String].self, forKey: .extensions)
        isLog = try container.decodeIfPresent(Bool.self, forKey: .isLog) ?? false
    }

    enum CodingKeys: String, CodingKey { case chefName, typeName, extensions, isLog }
}

/// The body of `register.rules` (Chef → MajorDomo): what a rule reads and writes. Only these
/// three lists travel; the rule's `build` argv stays with the Chef (a message never carries a
/// command to run).
public struct RegisterRule: Codable, Sendable, Equatable {
    public struct TheRule: Codable, Sendable, Equatable {
        /// Type names or path patterns (`%.tex`).
        public var dependencies: [String]
        public var secondaryDependencies: [String]
        public var outputs: [String]

        public init(dependencies: [String], secondaryDependencies: [String] = [], outputs: [String]) {
            self.dependencies = dependencies
            self.secondaryDependencies = secondaryDependencies
            self.outputs = outputs
        }

        /// Each list may be left out, as in the originals.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dependencies = try container.decodeIfPresent([String].self, forKey: .dependencies) ?? []
            secondaryDependencies = try container.decodeIfPresent([String].self, forKey: .secondaryDependencies) ?? []
            outputs = try container.decodeIfPresent([String].self, forKey: .outputs) ?? []
        }

        enum CodingKeys: String, CodingKey { case dependencies, secondaryDependencies, outputs }
    }

    public var chefName: String
    /// The kind of Chef that offers it: its jobs go to `build.from.<chefKind>`, the work queue
    /// the Chefs of that kind share. Absent (the originals): the Chef's name.
    public var chefKind: String?
    public var ruleName: String
    public var theRule: TheRule

    public init(chefName: String, chefKind: String? = nil, ruleName: String, theRule: TheRule) {
        self.chefName = chefName
        self.chefKind = chefKind
        self.ruleName = ruleName
        self.theRule = theRule
    }

    /// Where this rule's jobs go.
    public var kind: String { chefKind ?? chefName }
}

/// The body of `register.tasks` (a Chef or a loader → MajorDomo): one concrete step, as a
/// `*.tyml` file holds it. Tools that discover steps while they run announce them this way.
public struct RegisterTask: Codable, Sendable, Equatable {
    /// A task as written in a tasks file (DESIGN §4), paths relative to the project root.
    public struct TheTask: Codable, Sendable, Equatable {
        public var rule: String
        public var dependencies: [String]
        public var secondaryDependencies: [String]
        public var outputs: [String]
        public var mainFile: String?

        public init(
            rule: String, dependencies: [String], secondaryDependencies: [String] = [], outputs: [String],
            mainFile: String? = nil
        ) {
            self.rule = rule
            self.dependencies = dependencies
            self.secondaryDependencies = secondaryDependencies
            self.outputs = outputs
            self.mainFile = mainFile
        }
    }

    public var chefName: String
    /// The project the task belongs to.
    public var project: String
    public var taskName: String
    public var theTask: TheTask

    public init(chefName: String, project: String, taskName: String, theTask: TheTask) {
        self.chefName = chefName
        self.project = project
        self.taskName = taskName
        self.theTask = theTask
    }
}

/// The body of `register.projects` (a loader → MajorDomo): a project and its targets, as a
/// `*.pyml` file holds them.
public struct RegisterProject: Codable, Sendable, Equatable {
    public struct Target: Codable, Sendable, Equatable {
        public var help: String?
        public var dependencies: [String]
        public var outputs: [String]
        public var rule: String?
        public var mainFile: String?

        public init(
            help: String? = nil, dependencies: [String] = [], outputs: [String], rule: String? = nil,
            mainFile: String? = nil
        ) {
            self.help = help
            self.dependencies = dependencies
            self.outputs = outputs
            self.rule = rule
            self.mainFile = mainFile
        }
    }

    public struct TheProject: Codable, Sendable, Equatable {
        public var description: String?
        /// The project's directory on the pod that holds it.
        public var root: String
        public var targets: [String: Target]

        public init(description: String? = nil, root: String, targets: [String: Target]) {
            self.description = description
            self.root = root
            self.targets = targets
        }
    }

    public var chefName: String
    public var projectName: String
    public var theProject: TheProject

    public init(chefName: String, projectName: String, theProject: TheProject) {
        self.chefName = chefName
        self.projectName = projectName
        self.theProject = theProject
    }
}

/// The body of `registered.types`, `.rules`, `.tasks` and `.artefacts` (MajorDomo, after
/// 0.5 s without registrations): everything registered so far, sorted.
public struct Registered: Codable, Sendable, Equatable {
    public var names: [String]

    public init(names: [String]) { self.names = names }
}
