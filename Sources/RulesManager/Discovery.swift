import CPModel
import Foundation

/// How a rule's tool reports what it really read (a rule's `discover:`): the file it writes
/// and that file's format. After each successful run the files it names inside the project
/// are recorded as inputs of the task (ninja's `deps` log), so the next build sees an edited
/// `\input` chapter or header that no definition lists.
public struct Discovery: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// A TeX engine's `-recorder` file: `PWD`, `INPUT` and `OUTPUT` lines.
        case fls
        /// A make rule as `gcc -MD -MF` writes it: `target: prerequisite…`, `\` continuing lines.
        case depfile
    }

    public var format: Format
    /// The file's path, relative to where the command ran (placeholders as in `build`).
    public var file: ArgvTemplate

    public init(format: Format, file: ArgvTemplate) {
        self.format = format
        self.file = file
    }

    /// Reads a rule's `discover: {format: fls, file: "{{stem}}.fls"}`.
    static func parse(_ value: YAMLValue, context: String) throws(DefinitionError) -> Discovery {
        let fields = try Fields(value, what: "rules", context: "'discover' of \(context)", allowed: ["format", "file"])
        guard let format = try fields.string("format") else {
            throw DefinitionError(
                what: "rules", at: fields.location,
                "'discover' of \(context) needs a 'format' (\(Format.allCases.map(\.rawValue).joined(separator: " or ")))"
            )
        }
        guard let known = Format(rawValue: format.value) else {
            throw DefinitionError(
                what: "rules", at: format.location,
                "unknown discovery format '\(format.value)' in \(context); known: \(Format.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard let file = try fields.string("file") else {
            throw DefinitionError(
                what: "rules", at: fields.location, "'discover' of \(context) needs a 'file' (where the tool writes it)"
            )
        }
        return Discovery(format: known, file: try ArgvTemplate([file], what: "rules", context: context))
    }

    /// The discovery file of one task.
    public func file(_ values: ArgvTemplate.Values) -> DiscoveryFile {
        DiscoveryFile(format: format, path: file.expand(values).first ?? "")
    }

    /// The paths a discovery file of `format` names as read, as written in it.
    static func read(_ format: Format, _ text: String) -> [String] {
        format == .fls ? readFls(text) : readDepfile(text)
    }

    /// `path` (absolute, or relative to the directory) relative to one of `roots`, normalised;
    /// nil when it is outside them.
    static func relative(_ path: String, to roots: Set<String>) -> String? {
        var rest = path
        if PathSyntax.isAbsolute(path) {
            guard let root = roots.first(where: { PathSyntax.isInside(path, $0) && path.utf8.count > $0.utf8.count })
            else { return nil }
            rest = String(decoding: path.utf8.dropFirst(root.utf8.count + 1), as: UTF8.self)
        }
        var parts: [String] = []
        for part in PathSyntax.components(rest) {
            switch part {
            case ".": continue
            case "..":
                guard parts.popLast() != nil else { return nil }
            default: parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// `path` (absolute, or relative to `directory`) as a normalised absolute path; nil for
    /// the kernel's and devices' files (`/proc`, `/sys`, `/dev`), which are not sources.
    static func absolute(_ path: String, from directory: String) -> String? {
        var parts: [String] = []
        for part in PathSyntax.components(PathSyntax.isAbsolute(path) ? path : directory + "/" + path) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        guard let top = parts.first, !["proc", "sys", "dev"].contains(top) else { return nil }
        return "/" + parts.joined(separator: "/")
    }

    /// A `-recorder` file's `INPUT` lines (relative ones are relative to its `PWD`, the
    /// directory the engine ran in).
    static func readFls(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            line.hasPrefix("INPUT ") ? String(line.dropFirst(6)) : nil
        }
    }

    /// A make-style depfile's prerequisites (`-MP`'s phony rules have none). `\`-newline
    /// continues a line, `\ ` is a space in a name, `$$` a dollar.
    static func readDepfile(_ text: String) -> [String] {
        var read: [String] = []
        var words: [String] = []
        var word = ""
        var afterColon = false
        func endWord() {
            guard !word.isEmpty else { return }
            if word.hasSuffix(":") && !afterColon {
                afterColon = true  // what came before were the targets
                words = []
            } else {
                words.append(word)
            }
            word = ""
        }
        func endLine() {
            endWord()
            if afterColon { read += words }
            words = []
            afterColon = false
        }
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            switch character {
            case "\\":
                switch characters.first {
                case "\n":
                    characters.removeFirst()
                    endWord()
                case "\r" where characters.dropFirst().first == "\n":
                    characters.removeFirst(2)
                    endWord()
                case " ", "#": word.append(characters.removeFirst())
                default: word.append(character)
                }
            case "$" where characters.first == "$":
                characters.removeFirst()
                word.append("$")
            case ":" where !afterColon && (characters.first.map { " \t\r\n".contains($0) } ?? true):
                word.append(":")
                endWord()
            case " ", "\t", "\r": endWord()
            case "\n": endLine()
            default: word.append(character)
            }
        }
        endLine()
        return read
    }
}

/// One task's discovery file: where its tool writes it (relative to where it runs), and how.
public struct DiscoveryFile: Sendable, Hashable {
    public var format: Discovery.Format
    public var path: String

    public init(format: Discovery.Format, path: String) {
        self.format = format
        self.path = path
    }

    /// The files inside `directory` that the run read, by path relative to it, sorted: what
    /// the file names as read (some the run wrote too: a chapter's `.aux` that `\include`
    /// reads back), less the discovery file itself, files gone since, and anything outside
    /// `directory` (TeX Live's `.sty` files, `/usr/include`) unless `system`, which adds those
    /// by absolute path (`/proc`, `/sys` and `/dev` never). A file the tool read back from its
    /// `stage` counts as the project file it was moved to. Nil when it cannot be read.
    public func inputs(in directory: String, stage: String? = nil, system: Bool = false) -> [String]? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + path) else { return nil }
        let roots = Set([directory, (directory as NSString).resolvingSymlinksInPath])
        let staged = stage.map { Stage(directory: directory, path: $0) }
        var found = Set<String>()
        for file in Discovery.read(format, String(decoding: data, as: UTF8.self)) {
            var relative: String
            if let inside = Discovery.relative(file, to: roots) {
                relative = staged?.projectPath(of: inside) ?? inside
                guard relative != path else { continue }
            } else if system, let outside = Discovery.absolute(file, from: directory) {
                relative = outside
            } else {
                continue
            }
            var info = stat()
            let absolute = PathSyntax.isAbsolute(relative) ? relative : directory + "/" + relative
            guard stat(absolute, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            found.insert(relative)
        }
        return found.sorted()
    }
}
