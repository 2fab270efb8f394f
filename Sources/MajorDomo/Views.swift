import DependencyGraph
import RulesManager

/// A project as the REST API lists it.
public struct ProjectSummary: Codable, Sendable, Equatable {
    public var name: String
    public var root: String
    public var pod: String
    /// Where Chefs of other pods fetch its files (`[user@]host[:port]`), if anywhere.
    public var sftp: String?
    public var description: String
    /// The targets' names, in the order the project defines them.
    public var targets: [String]
    public var tasks: Int
    public var artefacts: Int
    /// How many cyclic components the graph has.
    public var cycles: Int
    /// Why its definitions could not be loaded (then it has no targets, tasks or artefacts).
    public var problem: String?

    public init(
        name: String, root: String, pod: String, sftp: String? = nil, description: String = "", targets: [String] = [],
        tasks: Int = 0, artefacts: Int = 0, cycles: Int = 0, problem: String? = nil
    ) {
        self.name = name
        self.root = root
        self.pod = pod
        self.sftp = sftp
        self.description = description
        self.targets = targets
        self.tasks = tasks
        self.artefacts = artefacts
        self.cycles = cycles
        self.problem = problem
    }
}

/// A target of a project: what a user asks to build.
public struct TargetSummary: Codable, Sendable, Equatable {
    public var name: String
    public var help: String
    public var dependencies: [String]
    public var outputs: [String]
    public var rule: String?

    init(_ target: Target) {
        name = target.name
        help = target.help
        dependencies = target.dependencies.map(\.value)
        outputs = target.outputs.map(\.value)
        rule = target.rule
    }
}

/// A task of a project's graph.
public struct TaskSummary: Codable, Sendable, Equatable {
    public var name: String
    public var rule: String
    public var dependencies: [String]
    public var secondaryDependencies: [String]
    public var outputs: [String]
    /// Instantiated from a pattern rule (`%.c` → `%.o`) rather than written in a tasks file.
    public var fromPattern: Bool

    init(_ task: BuildGraph.Task, in graph: BuildGraph) {
        name = task.name
        rule = task.rule
        dependencies = graph.paths(task.dependencies)
        secondaryDependencies = graph.paths(task.secondaryDependencies)
        outputs = graph.paths(task.outputs)
        fromPattern = task.fromPattern
    }
}

/// What `GET /project/definition/<p>` answers: the project, its targets and its tasks.
public struct ProjectDefinitionView: Codable, Sendable, Equatable {
    public var project: ProjectSummary
    public var targets: [TargetSummary]
    public var tasks: [TaskSummary]
}

/// What `GET /project/buildTarget/<p>/<t>` answers: one target, the tasks building it takes
/// (in build order) and the files it needs from outside (read, and made by no task).
public struct BuildTargetView: Codable, Sendable, Equatable {
    public var target: TargetSummary
    public var tasks: [TaskSummary]
    public var sources: [String]
}

/// Why a request to the MajorDomo cannot be done, by kind (the REST layer maps each to its
/// status).
public enum MajorDomoError: Error, Equatable, CustomStringConvertible {
    /// The request itself is wrong: a missing field, a relative path, a bad name.
    case badRequest(String)
    /// No such project, target or path.
    case notFound(String)
    /// It clashes with what exists: a name or a directory already added.
    case conflict(String)
    /// The project's definitions do not load (the message names file, line and key).
    case unprocessable(String)
    /// The MajorDomo failed (its database).
    case failure(String)

    public var description: String {
        switch self {
        case .badRequest(let message), .notFound(let message), .conflict(let message), .unprocessable(let message),
            .failure(let message):
            return message
        }
    }
}
