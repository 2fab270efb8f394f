import CPModel
import Foundation
import RulesManager

/// Tasks for a project directory with no definition files, inferred from its files as
/// latexmk finds a document's steps and make's built-in rules compile C; the tasks name the
/// bundled rules (`pdflatex`, `xelatex`, `lualatex`, `bibtex`, `biber`, `makeindex`, `link`;
/// each `.c` file is compiled by the pattern rule `compile`). What a task's tool reads beyond
/// its main file (chapters, figures, headers) is discovered when it runs.
public enum Inference {
    /// The tasks for the files of `root` (relative paths, as `DefinitionFiles.listFiles`
    /// gives them); none when nothing is recognised.
    public static func tasks(root: String, files: [String]) -> [TaskDefinition] {
        let sources = TeXSources(root: root, files: files)
        return documents(sources, files: Set(files)) + programs(root: root, files: files)
    }

    /// The project `tasks` (inferred for `root`) make: a target per document (its PDF) and
    /// per program, named as its task, so that a build, `cp ctrl build NAME` and the web page
    /// have them; nil when there are none.
    public static func project(root: String, tasks: [TaskDefinition]) -> ProjectDefinition? {
        let targets = tasks.compactMap { task -> Target? in
            guard let rule = task.rule?.value, let output = task.outputs.first,
                ["pdflatex", "xelatex", "lualatex", "link"].contains(rule)
            else { return nil }
            let main = task.dependencies.first?.value ?? ""
            let help = rule == "link" ? "Build the program \(output.value)" : "Typeset \(main) (\(rule))"
            return Target(name: task.name, help: help, outputs: [output], location: task.location)
        }
        guard let first = targets.first else { return nil }
        return ProjectDefinition(
            name: (root as NSString).lastPathComponent,
            description: "inferred from its files: " + targets.map(\.name).joined(separator: ", "), targets: targets,
            location: first.location)
    }

    /// Whether a change to `path` may change what `tasks` infers (a `.tex` or `.c` file).
    public static func mayChangeTasks(_ path: String) -> Bool {
        path.hasSuffix(".tex") || path.hasSuffix(".c")
    }

    // MARK: LaTeX

    /// A document: a `.tex` at the project's top level (the engine runs there, so its
    /// `\input` paths are relative to it) holding `\documentclass`, that no other file inputs.
    static func documents(_ sources: TeXSources, files: Set<String>) -> [TaskDefinition] {
        var found: [TaskDefinition] = []
        let included = sources.included
        for path in sources.paths where !path.contains("/") {
            guard let main = sources.source(path), let documentClass = main.commands("documentclass").first,
                !included.contains(String(path.dropLast(4)))
            else { continue }
            let stem = String(path.dropLast(4))
            let place = SourceLocation(file: path + " (inferred)", line: documentClass.line, column: 1)
            let located = { (paths: [String]) in paths.map { Located($0, at: place) } }
            // What the document's preamble and body ask for, its \input files included.
            let parts = sources.closure(of: path)
            let commands = { (name: String) in parts.flatMap { $0.commands(name) } }
            let loads = commands("usepackage") + commands("RequirePackage")
            let names = { (command: TeXSource.Command) in
                command.argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            let packages = Set(loads.flatMap(names))
            let biblatex = loads.first { names($0).contains("biblatex") }
            var tasks: [TaskDefinition] = []  // the document's helpers
            var outputs = [stem + ".pdf", stem + ".aux"]
            var secondary = [stem + ".aux"]
            for (command, suffix) in [("tableofcontents", ".toc"), ("listoffigures", ".lof"), ("listoftables", ".lot")]
            where !commands(command).isEmpty {
                outputs.append(stem + suffix)
                secondary.append(stem + suffix)
            }
            // The bibliography: biblatex (biber on its .bcf, or bibtex with backend=bibtex) or
            // \bibliography (bibtex on the .aux).
            let databases = Self.databases(
                commands("addbibresource").map(\.argument)
                    + commands("bibliography").flatMap { $0.argument.split(separator: ",").map(String.init) })
            if !databases.isEmpty || (biblatex != nil && !commands("printbibliography").isEmpty) {
                let biber =
                    biblatex.map {
                        $0.options?.replacingOccurrences(of: " ", with: "").contains("backend=bibtex") != true
                    } ?? false
                if biber { outputs.append(stem + ".bcf") }
                tasks.append(
                    TaskDefinition(
                        name: stem + "-bibliography", rule: Located(biber ? "biber" : "bibtex", at: place),
                        dependencies: located([stem + (biber ? ".bcf" : ".aux")] + databases),
                        secondaryDependencies: [], outputs: located([stem + ".bbl"]), location: place))
                secondary.append(stem + ".bbl")
            }
            // The index: \makeindex (makeidx, imakeidx), or a .idx already there.
            if !commands("makeindex").isEmpty || files.contains(stem + ".idx") {
                outputs.append(stem + ".idx")
                secondary.append(stem + ".ind")
                tasks.append(
                    TaskDefinition(
                        name: stem + "-index", rule: Located("makeindex", at: place),
                        dependencies: located([stem + ".idx"]), secondaryDependencies: [],
                        outputs: located([stem + ".ind"]), location: place))
            }
            found.append(
                TaskDefinition(
                    name: stem, rule: Located(engine(main, packages: packages), at: place),
                    dependencies: located([path]), secondaryDependencies: located(secondary),
                    outputs: located(outputs), location: place))
            found += tasks
        }
        return found
    }

    /// The bibliography databases named, as paths in the project (absolute ones are skipped).
    static func databases(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.compactMap { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            let file = trimmed.hasSuffix(".bib") ? trimmed : trimmed + ".bib"
            guard let path = ProjectPath.normalize(file), seen.insert(path).inserted else { return nil }
            return path
        }
    }

    /// The engine: a `% !TEX program = …` line as editors write it, else xelatex for a
    /// document that loads fontspec (or a package built on it), else pdflatex.
    static func engine(_ main: TeXSource, packages: Set<String>) -> String {
        if let magic = main.magicProgram, ["pdflatex", "xelatex", "lualatex"].contains(magic) { return magic }
        return packages.isDisjoint(with: ["fontspec", "unicode-math", "polyglossia", "xeCJK"]) ? "pdflatex" : "xelatex"
    }

    // MARK: C

    /// One program per `.c` file holding `main`, linked from its object and the objects of
    /// every `.c` file without `main` (the project's library); named after its file.
    static func programs(root: String, files: [String]) -> [TaskDefinition] {
        let sources = files.filter { $0.hasSuffix(".c") }
        guard !sources.isEmpty else { return [] }
        var mains: [(path: String, line: Int)] = []
        var library: [String] = []
        for path in sources {
            let text = TeXSources.read(root + "/" + path) ?? ""
            if let line = mainLine(text) {
                mains.append((path, line))
            } else {
                library.append(path)
            }
        }
        return mains.map { main in
            let place = SourceLocation(file: main.path + " (inferred)", line: main.line, column: 1)
            let program = String(main.path.dropLast(2))
            return TaskDefinition(
                name: program, rule: Located("link", at: place),
                dependencies: ([main.path] + library).map { Located(String($0.dropLast(2)) + ".o", at: place) },
                secondaryDependencies: [], outputs: [Located(program, at: place)], location: place)
        }
    }

    /// The line (from 1) where `text` defines `main`, if it does: `main` at the start of a
    /// line (GNU style) or after `int`/`void`, followed by `(`, outside comments.
    static func mainLine(_ text: String) -> Int? {
        var inComment = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var code = Substring(line)
            if inComment {
                guard let end = code.range(of: "*/") else { continue }
                code = code[end.upperBound...]
                inComment = false
            }
            if let comment = code.range(of: "//") { code = code[..<comment.lowerBound] }
            if let open = code.range(of: "/*") {
                inComment = code[open.upperBound...].range(of: "*/") == nil
                code = code[..<open.lowerBound]
            }
            var words = code.trimmingCharacters(in: .whitespaces)[...]
            for type in ["int ", "void "] where words.hasPrefix(type) {
                words = words.dropFirst(type.count).drop { $0 == " " || $0 == "\t" }
            }
            guard words.hasPrefix("main") else { continue }
            if words.dropFirst(4).drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("(") { return index + 1 }
        }
        return nil
    }
}

/// A project's `.tex` files, read on first use.
struct TeXSources {
    let root: String
    /// The `.tex` files, sorted.
    let paths: [String]
    private let sources: [String: TeXSource]

    init(root: String, files: [String]) {
        self.root = root
        paths = files.filter { $0.hasSuffix(".tex") }.sorted()
        var sources: [String: TeXSource] = [:]
        for path in paths { if let text = Self.read(root + "/" + path) { sources[path] = TeXSource(text) } }
        self.sources = sources
    }

    /// A file's text, if it is readable and under 8 MiB (a source, not a data file).
    static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 8 << 20), data.count < 8 << 20 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func source(_ path: String) -> TeXSource? { sources[path] }

    /// Every file that a file inputs or includes, without `.tex`, as a path in the project.
    var included: Set<String> {
        Set(sources.values.flatMap { $0.inputs.compactMap(ProjectPath.normalize) })
    }

    /// `path` and the files it inputs, and those they input, each once.
    func closure(of path: String) -> [TeXSource] {
        var seen: Set<String> = []
        var stack = [path]
        var found: [TeXSource] = []
        while let next = stack.popLast() {
            guard seen.insert(next).inserted, let source = sources[next] else { continue }
            found.append(source)
            stack += source.inputs.compactMap(ProjectPath.normalize).map { $0 + ".tex" }
        }
        return found
    }
}

/// One `.tex` file, its comments removed, searched for commands.
struct TeXSource {
    struct Command {
        var options: String?
        var argument: String
        /// From 1.
        var line: Int
    }

    /// The text with each comment removed (a `%` not escaped, to the end of its line).
    let code: [Substring]
    /// The program a `% !TEX program = NAME` (or `TS-program`) line names, lowercased.
    let magicProgram: String?

    init(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        code = lines.map { line in
            var escaped = false
            for index in line.indices {
                if line[index] == "%" && !escaped { return line[..<index] }
                escaped = line[index] == "\\" && !escaped
            }
            return line
        }
        magicProgram =
            lines.prefix(20).lazy.compactMap { line -> String? in
                let lowered = line.lowercased().replacingOccurrences(of: " ", with: "")
                guard lowered.hasPrefix("%!tex"), lowered.contains("program="),
                    let value = lowered.split(separator: "=").last
                else { return nil }
                return String(value)
            }.first
    }

    /// The files `\input{X}`, `\include{X}` and `\subfile{X}` name, without `.tex`.
    var inputs: [String] {
        (commands("input") + commands("include") + commands("subfile")).map { command in
            command.argument.hasSuffix(".tex") ? String(command.argument.dropLast(4)) : command.argument
        }
    }

    /// Each `\name[options]{argument}` (options optional); `\name` followed by a letter is
    /// another command. A command with no `{` argument on its line has an empty argument.
    func commands(_ name: String) -> [Command] {
        var found: [Command] = []
        let marker = "\\" + name
        for (index, line) in code.enumerated() {
            var rest = line
            while let range = rest.range(of: marker) {
                rest = rest[range.upperBound...]
                if let next = rest.first, next.isLetter { continue }
                var scan = rest.drop { $0 == " " }
                var options: String?
                if scan.first == "[", let close = scan.firstIndex(of: "]") {
                    options = String(scan[scan.index(after: scan.startIndex)..<close])
                    scan = scan[scan.index(after: close)...].drop { $0 == " " }
                }
                var argument = ""
                if scan.first == "{", let close = scan.firstIndex(of: "}") {
                    argument = String(scan[scan.index(after: scan.startIndex)..<close]).trimmingCharacters(
                        in: .whitespaces)
                    rest = scan[scan.index(after: close)...]
                }
                found.append(Command(options: options, argument: argument, line: index + 1))
            }
        }
        return found
    }
}
