/// Where a YAML value was written: file, line and column (both from 1).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `'PATH' line L, column C`, as messages print it.
    public var description: String { "'\(file)' line \(line), column \(column)" }
}

/// A YAML document as plain values that remember where each was written, so that an error
/// found after loading (an unknown key, a bad value) can still name its file, line and column.
public indirect enum YAMLValue: Sendable, Hashable {
    /// A scalar's text as written (YAML's `null`, `~` and the empty scalar are `.null`).
    case scalar(String, SourceLocation)
    case null(SourceLocation)
    case sequence([YAMLValue], SourceLocation)
    case mapping([YAMLEntry], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .scalar(_, let location), .null(let location), .sequence(_, let location),
            .mapping(_, let location):
            return location
        }
    }

    /// The entries of a mapping; nil for anything else.
    public var entries: [YAMLEntry]? {
        if case .mapping(let entries, _) = self { return entries }
        return nil
    }

    /// The value of `key` in a mapping.
    public subscript(key: String) -> YAMLValue? {
        entries?.first { $0.key == key }?.value
    }

    /// A short name of the value's kind for messages: "a list", "a map", "a value".
    public var kindName: String {
        switch self {
        case .scalar: return "a value"
        case .null: return "nothing"
        case .sequence: return "a list"
        case .mapping: return "a map"
        }
    }
}

/// One `key: value` of a mapping, with the key's own location.
public struct YAMLEntry: Sendable, Hashable {
    public let key: String
    public let keyLocation: SourceLocation
    public let value: YAMLValue

    public init(key: String, keyLocation: SourceLocation, value: YAMLValue) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }
}

extension YAMLValue {
    /// The deep merge every loader uses (DESIGN §4): maps merge key by key, lists append,
    /// anything else is overwritten by `overlay`. Pinned by `deepMergeMergesMapsAppendsListsOverwritesScalars`.
    public static func merge(_ base: YAMLValue, _ overlay: YAMLValue) -> YAMLValue {
        switch (base, overlay) {
        case (.mapping(let baseEntries, let location), .mapping(let overlayEntries, _)):
            var merged = baseEntries
            for entry in overlayEntries {
                if let index = merged.firstIndex(where: { $0.key == entry.key }) {
                    let value = merge(merged[index].value, entry.value)
                    merged[index] = YAMLEntry(key: entry.key, keyLocation: entry.keyLocation, value: value)
                } else {
                    merged.append(entry)
                }
            }
            return .mapping(merged, location)
        case (.sequence(let baseItems, let location), .sequence(let overlayItems, _)):
            return .sequence(baseItems + overlayItems, location)
        default:
            return overlay
        }
    }
}
