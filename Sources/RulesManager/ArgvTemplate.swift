import CPModel
import Foundation

/// A rule's `build`: an argv template, run without a shell. `{{dependencies}}`,
/// `{{secondaryDependencies}}` and `{{outputs}}` expand to one argument per path (an argument
/// that is a list placeholder with text around it is repeated for each path: `-I{{x}}`);
/// `{{input}}`, `{{output}}`, `{{stem}}` and `{{mainFile}}` are single values, and `{{stage}}`
/// is a private directory whose files are moved into place after the run (`Stage`).
public struct ArgvTemplate: Sendable, Hashable {
    public static let listPlaceholders = ["dependencies", "secondaryDependencies", "outputs"]
    public static let valuePlaceholders = ["input", "output", "stem", "mainFile", "stage"]

    enum Piece: Sendable, Hashable {
        case text(String)
        case placeholder(String)
    }

    /// Each argument's pieces.
    let arguments: [[Piece]]
    public let source: [String]

    /// Parses `arguments`; an unknown or unclosed placeholder is an error.
    init(_ arguments: [Located<String>], what: String, context: String) throws(DefinitionError) {
        var parsed: [[Piece]] = []
        for argument in arguments {
            var pieces: [Piece] = []
            var rest = Substring(argument.value)
            while let open = rest.range(of: "{{") {
                if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
                guard let close = rest[open.upperBound...].range(of: "}}") else {
                    throw DefinitionError(
                        what: what, at: argument.location, "'{{' without '}}' in the build of \(context)")
                }
                let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
                guard Self.listPlaceholders.contains(name) || Self.valuePlaceholders.contains(name) else {
                    throw DefinitionError(
                        what: what, at: argument.location,
                        "unknown placeholder '{{\(name)}}' in the build of \(context); known: "
                            + (Self.listPlaceholders + Self.valuePlaceholders).map { "{{\($0)}}" }.joined(
                                separator: ", "))
                }
                let pieceCount = pieces.count
                pieces.append(.placeholder(name))
                if Self.listPlaceholders.contains(name)
                    && pieces[..<pieceCount].contains(where: {
                        if case .placeholder(let other) = $0 {
                            return Self.listPlaceholders.contains(other)
                        } else {
                            return false
                        }
                    })
                {
                    throw DefinitionError(
                        what: what, at: argument.location,
                        "two list placeholders in one argument of the build of \(context)")
                }
                rest = rest[close.upperBound...]
            }
            if !rest.isEmpty { pieces.append(.text(String(rest))) }
            parsed.append(pieces)
        }
        self.arguments = parsed
        source = arguments.map(\.value)
    }

    /// A template from plain arguments (made in code, not read from a file).
    public static func parse(_ arguments: [String]) throws(DefinitionError) -> ArgvTemplate {
        let location = SourceLocation(file: "argv", line: 1, column: 1)
        return try ArgvTemplate(arguments.map { Located($0, at: location) }, what: "build", context: "a task")
    }

    public var isEmpty: Bool { arguments.isEmpty }

    /// Whether the command writes into a stage (`{{stage}}`), to be moved into place after it.
    public var usesStage: Bool { arguments.contains { $0.contains(.placeholder("stage")) } }

    /// What the placeholders stand for in one task.
    public struct Values: Sendable {
        public var dependencies: [String]
        public var secondaryDependencies: [String]
        public var outputs: [String]
        public var stem: String
        public var mainFile: String
        /// The task's stage, relative to where it runs (`Stage.path(task:)`).
        public var stage: String

        public init(
            dependencies: [String], secondaryDependencies: [String], outputs: [String], stem: String, mainFile: String,
            stage: String
        ) {
            self.dependencies = dependencies
            self.secondaryDependencies = secondaryDependencies
            self.outputs = outputs
            self.stem = stem
            self.mainFile = mainFile
            self.stage = stage
        }

        func list(_ name: String) -> [String] {
            switch name {
            case "dependencies": return dependencies
            case "secondaryDependencies": return secondaryDependencies
            default: return outputs
            }
        }

        func value(_ name: String) -> String {
            switch name {
            case "input": return dependencies.first ?? ""
            case "output": return outputs.first ?? ""
            case "stem": return stem
            case "stage": return stage
            default: return mainFile
            }
        }
    }

    /// The argv for one task.
    public func expand(_ values: Values) -> [String] {
        var argv: [String] = []
        for pieces in arguments {
            let list = pieces.lazy.compactMap { piece -> String? in
                if case .placeholder(let name) = piece, Self.listPlaceholders.contains(name) { return name }
                return nil
            }.first
            func render(_ element: String?) -> String {
                pieces.map { piece in
                    switch piece {
                    case .text(let text): return text
                    case .placeholder(let name):
                        return Self.listPlaceholders.contains(name) ? (element ?? "") : values.value(name)
                    }
                }.joined()
            }
            if let list {
                argv += values.list(list).map { render($0) }
            } else {
                argv.append(render(nil))
            }
        }
        return argv
    }
}
