import CPModel

/// A value read from a definition file, with where it was written (for errors found later,
/// when the graph is built: an unknown rule, an output claimed twice).
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

/// Why a rules, tasks or project definition cannot be used. The text names the file, line,
/// column and key (it is `YAMLLoadError`'s: `rules 'FILE' line L, column C: REASON`).
public typealias DefinitionError = YAMLLoadError
