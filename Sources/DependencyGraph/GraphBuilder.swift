import CPModel
import Foundation
import RulesManager

/// Builds a project's graph from its definitions (DESIGN §4, §5): the tasks of its `*.tyml`
/// files, its targets, and the pattern rules instantiated over its files (and over what other
/// tasks write, as make chains rules). Every inconsistency is an error with a location: an
/// unknown rule, a file of the wrong type for its rule, an output claimed by two tasks.
public enum GraphBuilder {
    /// How many rounds of pattern instantiation (each over the outputs the last one added)
    /// before the rules are taken to chain without end.
    static let maxPatternRounds = 32

    public static func build(
        rules: RuleBook, tasks: [TaskDefinition], projects: [ProjectDefinition], files: [String],
        targets wanted: [String] = []
    ) throws(DefinitionError) -> BuildGraph {
        var building = Building(
            rules: rules, files: files, taskCount: tasks.count, outputCount: tasks.reduce(0) { $0 + $1.outputs.count })
        let allTargets = projects.flatMap { project in project.targets.map { (project, $0) } }
        try building.addTasks(tasks)
        try building.addTargetTasks(allTargets)
        try building.instantiatePatternRules()
        try building.chooseGoals(wanted, among: allTargets, projects: projects)
        return building.graph
    }

    /// A graph as it is built, step by step, with where each output was claimed.
    private struct Building {
        let rules: RuleBook
        let files: [String]
        var graph = BuildGraph()
        /// Output → where its task was defined, for the message about a second claim.
        var claimed: [Int32: SourceLocation]

        init(rules: RuleBook, files: [String], taskCount: Int, outputCount: Int) {
            self.rules = rules
            self.files = files
            // Most artefacts are the project's files and the tasks' outputs.
            graph.reserveCapacity(artefacts: files.count + outputCount, tasks: taskCount)
            claimed = [Int32: SourceLocation](minimumCapacity: taskCount)
        }

        /// Adds `task`, refusing a second task of its name or a second producer of an output.
        mutating func add(_ task: BuildGraph.Task, outputLocations: [SourceLocation]) throws(DefinitionError) {
            if graph.task(named: task.name) != nil {
                throw DefinitionError(what: "tasks", at: task.location, "task '\(task.name)' is defined twice")
            }
            for (output, location) in zip(task.outputs, outputLocations) where graph.producer[Int(output)] >= 0 {
                let other = graph.tasks[Int(graph.producer[Int(output)])]
                throw DefinitionError(
                    what: "tasks", at: location,
                    "'\(graph.artefacts[Int(output)])' is an output of task '\(task.name)' and of task '\(other.name)' (\(claimed[output].map { "\($0)" } ?? "")): an artefact has one producer"
                )
            }
            graph.add(task)
            for (output, location) in zip(task.outputs, outputLocations) { claimed[output] = location }
        }

        /// The tasks written in tasks files, each checked against its rule's types.
        mutating func addTasks(_ tasks: [TaskDefinition]) throws(DefinitionError) {
            for definition in tasks {
                let rule = try GraphBuilder.rule(
                    named: definition.rule, for: "task '\(definition.name)'", at: definition.location, in: rules)
                try GraphBuilder.typeCheck(
                    definition.dependencies, against: rule.dependencies, role: "a dependency", task: definition.name,
                    rule: rule, rules: rules)
                try GraphBuilder.typeCheck(
                    definition.outputs, against: rule.outputs, role: "an output", task: definition.name, rule: rule,
                    rules: rules)
                let task = try GraphBuilder.instantiate(
                    name: definition.name, rule: rule, dependencies: definition.dependencies.map(\.value),
                    secondary: definition.secondaryDependencies.map(\.value), outputs: definition.outputs.map(\.value),
                    mainFile: definition.mainFile, location: definition.location, graph: &graph)
                try add(task, outputLocations: definition.outputs.map(\.location))
            }
        }

        /// Targets that name a rule and whose outputs no task writes: a task of their own.
        mutating func addTargetTasks(_ targets: [(ProjectDefinition, Target)]) throws(DefinitionError) {
            for (project, target) in targets where target.rule != nil {
                guard
                    target.outputs.contains(where: {
                        graph.artefact($0.value).map { graph.producer[Int($0)] < 0 } ?? true
                    })
                else { continue }
                let rule = try GraphBuilder.rule(
                    named: target.rule.map { Located($0, at: target.location) }, for: "target '\(target.name)'",
                    at: target.location, in: rules)
                let task = try GraphBuilder.instantiate(
                    name: "\(project.name):\(target.name)", rule: rule, dependencies: target.dependencies.map(\.value),
                    secondary: [], outputs: target.outputs.map(\.value), mainFile: target.mainFile,
                    location: target.location, graph: &graph)
                try add(task, outputLocations: target.outputs.map(\.location))
            }
        }

        /// Pattern rules, over the files and then over what tasks write, round by round until
        /// nothing new appears (make's chains).
        mutating func instantiatePatternRules() throws(DefinitionError) {
            let patternRules = rules.rules.values.filter(\.isPattern).sorted { $0.name < $1.name }
            for rule in patternRules {
                for output in rule.outputs {
                    guard case .pattern = output.value else {
                        throw DefinitionError(
                            what: "rules", at: output.location,
                            "pattern rule '\(rule.name)' has an output that is not a pattern with '%': each of its outputs must name a file for the stem"
                        )
                    }
                }
            }
            // Every file on disk and every file a task writes is a candidate.
            let existing = Set(files)
            var seen = Set(files)
            var candidates = files
            for task in graph.tasks { candidates += graph.paths(task.outputs).filter { seen.insert($0).inserted } }
            for round in 0... {
                var added: [String] = []
                for path in candidates {
                    for rule in patternRules {
                        guard let outputs = try instantiate(rule, for: path, existing: existing) else { continue }
                        added += outputs.filter { seen.insert($0).inserted }
                    }
                }
                if added.isEmpty { break }
                guard round < maxPatternRounds else {
                    throw DefinitionError(
                        what: "rules", at: patternRules[0].location,
                        "pattern rules keep producing new files after \(maxPatternRounds) rounds (last: \(added.prefix(3).joined(separator: ", "))): a rule's output matches a rule's input without end"
                    )
                }
                candidates = added
            }
        }

        /// Adds the task of pattern rule `rule` for `path`, when `path` matches its primary
        /// pattern, every input exists or is made, and no task writes its outputs already (an
        /// explicit task wins, as in make). Returns the outputs it added, or nil.
        private mutating func instantiate(_ rule: Rule, for path: String, existing: Set<String>) throws(DefinitionError)
            -> [String]?
        {
            guard let stem = rule.primaryPattern?.stem(of: path) else { return nil }
            let outputs = rule.outputs.compactMap { entry -> String? in
                if case .pattern(let pattern) = entry.value { return pattern.instantiate(stem) } else { return nil }
            }
            let graph = graph
            // Written already, or writing its own input.
            let made = { (file: String) in graph.artefact(file).map { graph.producer[Int($0)] >= 0 } == true }
            guard !outputs.contains(where: { $0 == path || made($0) }) else { return nil }
            var dependencies: [String] = []
            for entry in rule.dependencies {
                switch entry.value {
                case .pattern(let pattern):
                    let input = pattern.instantiate(stem)
                    // Every input must exist or be made, else the rule does not apply here.
                    guard existing.contains(input) || made(input) else { return nil }
                    dependencies.append(input)
                case .path(let input): dependencies.append(input)
                case .type: continue
                }
            }
            let secondary = rule.secondaryDependencies.compactMap { entry -> String? in
                switch entry.value {
                case .pattern(let pattern): return pattern.instantiate(stem)
                case .path(let input): return input
                case .type: return nil
                }
            }
            var task = try GraphBuilder.instantiate(
                name: "\(rule.name):\(path)", rule: rule, dependencies: dependencies, secondary: secondary,
                outputs: outputs, mainFile: nil, location: rule.location, graph: &self.graph)
            task.stem = stem
            task.fromPattern = true
            try add(task, outputLocations: Array(repeating: rule.location, count: outputs.count))
            return outputs
        }

        /// Goals: the targets' outputs (those asked for, or all); without targets, the outputs
        /// of the tasks written in tasks files (or, failing those, of every task).
        mutating func chooseGoals(
            _ wanted: [String], among allTargets: [(ProjectDefinition, Target)],
            projects: [ProjectDefinition]
        ) throws(DefinitionError) {
            var goals: [Int32] = []
            let existing = Set(files)
            let chosen = wanted.isEmpty ? allTargets : allTargets.filter { wanted.contains($0.1.name) }
            for name in wanted where !allTargets.contains(where: { $0.1.name == name }) {
                let known = allTargets.map(\.1.name).joined(separator: ", ")
                throw DefinitionError(
                    what: "project", file: projects.first.map { "\($0.location.file)" } ?? ".",
                    "no target '\(name)'\(known.isEmpty ? " (the project has no targets)" : "; targets: \(known)")")
            }
            for (_, target) in chosen {
                for output in target.outputs {
                    let id = graph.intern(output.value)
                    guard graph.producer[Int(id)] >= 0 || existing.contains(output.value) else {
                        throw DefinitionError(
                            what: "project", at: output.location,
                            "target '\(target.name)' wants '\(output.value)', which no task or rule makes and which does not exist"
                        )
                    }
                    goals.append(id)
                }
            }
            if allTargets.isEmpty {
                goals = graph.tasks.filter { !$0.fromPattern }.flatMap(\.outputs)
                if goals.isEmpty { goals = graph.tasks.flatMap(\.outputs) }
            }
            graph.goals = goals
        }
    }

    fileprivate static func rule(
        named name: Located<String>?, for owner: String, at location: SourceLocation, in rules: RuleBook
    ) throws(DefinitionError) -> Rule {
        guard let name else {
            throw DefinitionError(what: "tasks", at: location, "\(owner) names no rule (give it 'rule: NAME')")
        }
        guard let rule = rules.rules[name.value] else {
            let known = rules.rules.keys.sorted()
            throw DefinitionError(
                what: "tasks", at: name.location,
                "unknown rule '\(name.value)' in \(owner)\(DidYouMean.phrase(for: name.value, among: known))"
                    + (known.isEmpty
                        ? "; no rules are loaded (give --rules DIR)"
                        : "; known rules: \(known.joined(separator: ", "))"))
        }
        return rule
    }

    /// A typed rule's main input and main output (the first of each) must be of its types:
    /// that catches a task given the wrong rule. Further files are free, as make's extra
    /// prerequisites are (the originals' ConTeXt task writes code of types its rule never
    /// names).
    fileprivate static func typeCheck(
        _ paths: [Located<String>], against entries: [Located<RuleEntry>], role: String, task: String, rule: Rule,
        rules: RuleBook
    ) throws(DefinitionError) {
        let types = entries.compactMap { entry -> ArtefactType? in
            if case .type(let name) = entry.value { return rules.types[name] } else { return nil }
        }
        // Patterns and specific paths take any extra file, as make's prerequisites do.
        guard !types.isEmpty, types.count == entries.count else { return }
        for path in paths.prefix(1) where !types.contains(where: { $0.matches(path.value) }) {
            let actual = rules.type(of: path.value).map { "it is a \($0.name)" } ?? "no type's extensions match it"
            throw DefinitionError(
                what: "tasks", at: path.location,
                "'\(path.value)' cannot be \(role) of task '\(task)': rule '\(rule.name)' takes \(types.map(\.name).joined(separator: " or ")), and \(actual)"
            )
        }
    }

    fileprivate static func instantiate(
        name: String, rule: Rule, dependencies: [String], secondary: [String], outputs: [String], mainFile: String?,
        location: SourceLocation, graph: inout BuildGraph
    ) throws(DefinitionError) -> BuildGraph.Task {
        let main = mainFile ?? dependencies.first ?? ""
        let mainName = String(ProjectPath.name(main))
        let stem =
            rule.primaryPattern.flatMap { pattern in dependencies.lazy.compactMap(pattern.stem).first }
            ?? (mainName as NSString).deletingPathExtension
        if rule.isPattern
            && rule.primaryPattern.flatMap({ pattern in dependencies.first { pattern.stem(of: $0) != nil } }) == nil
        {
            throw DefinitionError(
                what: "tasks", at: location,
                "task '\(name)' uses pattern rule '\(rule.name)', but none of its dependencies matches '\(rule.primaryPattern.map { $0.prefix + "%" + $0.suffix } ?? "")'"
            )
        }
        return BuildGraph.Task(
            name: name, rule: rule.name, dependencies: dependencies.map { graph.intern($0) },
            secondaryDependencies: secondary.map { graph.intern($0) }, outputs: outputs.map { graph.intern($0) },
            build: rule.build, discovery: rule.discover, stem: stem, mainFile: main, location: location,
            fromPattern: false)
    }
}
