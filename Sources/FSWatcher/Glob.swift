// Single-component glob matching for the ignore rules (IgnoreRules.swift): `*`, `?` and
// bracket expressions over a path component's UTF-8 bytes, with star backtracking (O(pattern ×
// text), never exponential).

/// A compiled single-component glob: `*`, `?`, `[...]` and literal bytes.
struct Glob: Sendable {
    enum Token: Sendable, Equatable {
        case byte(UInt8)
        /// `?`: one character (Unicode scalar).
        case anyCharacter
        /// `*`: any run of characters (also `**` when not a whole segment).
        case star
        case bracket(BracketClass)
    }

    private let tokens: [Token]

    /// Matches any one non-empty component.
    static let anyName = Glob(tokens: [.star])

    private init(tokens: [Token]) {
        self.tokens = tokens
    }

    /// Compiles `pattern`; nil if it is invalid, like git (which then never matches it): it ends with an
    /// unescaped backslash, has an unclosed `[`, or names an unknown `[:class:]`.
    init?(_ pattern: [UInt8]) {
        var tokens: [Token] = []
        var index = 0
        while index < pattern.count {
            switch pattern[index] {
            case .backslash:
                guard index + 1 < pattern.count else {
                    return nil
                }
                // Continuation bytes of an escaped multi-byte character follow as plain literal bytes.
                tokens.append(.byte(pattern[index + 1]))
                index += 2
            case .star:
                if tokens.last != .star {  // `**` inside a segment is the same as `*`
                    tokens.append(.star)
                }
                index += 1
            case .question:
                tokens.append(.anyCharacter)
                index += 1
            case .openBracket:
                guard let (bracket, next) = BracketClass.parse(pattern, at: index) else {
                    return nil
                }
                tokens.append(.bracket(bracket))
                index = next
            case let byte:
                tokens.append(.byte(byte))
                index += 1
            }
        }
        self.tokens = tokens
    }

    /// Whether the glob matches all of `text[start..<end]` (which holds no '/').
    func matches(_ text: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        var token = 0
        var index = start
        var lastStar = -1
        var starResume = start  // where the text after the last star's match resumes
        while index < end {
            if token < tokens.count {
                switch tokens[token] {
                case .star:
                    lastStar = token
                    starResume = index
                    token += 1
                    continue
                case .byte(let byte):
                    if text[index] == byte {
                        token += 1
                        index += 1
                        continue
                    }
                case .anyCharacter:
                    token += 1
                    index += decodeScalar(text, at: index, end: end).length
                    continue
                case .bracket(let bracket):
                    let (scalar, length) = decodeScalar(text, at: index, end: end)
                    if bracket.contains(scalar) {
                        token += 1
                        index += length
                        continue
                    }
                }
            }
            guard lastStar >= 0 else {
                return false
            }
            // Let the last star swallow one more character and retry from there.
            starResume += decodeScalar(text, at: starResume, end: end).length
            token = lastStar + 1
            index = starResume
        }
        while token < tokens.count, case .star = tokens[token] {
            token += 1
        }
        return token == tokens.count
    }
}

/// A bracket expression: `[abc]`, `[a-z]`, `[!a-z]`, `[^a-z]`, `[[:digit:]]`; `\x` escapes x;
/// a `]` right after `[` (or `[!`) is a member.
struct BracketClass: Sendable, Equatable {
    enum Member: Sendable, Equatable {
        case range(UInt32, UInt32)
        case named(NamedClass)
    }

    let isNegated: Bool
    let members: [Member]

    /// Parses the bracket expression whose `[` is at `start`: the class and the index after its `]`,
    /// or nil if it is not closed or names an unknown `[:class:]`.
    static func parse(_ pattern: [UInt8], at start: Int) -> (BracketClass, next: Int)? {
        var index = start + 1
        var isNegated = false
        if index < pattern.count, pattern[index] == .bang || pattern[index] == .caret {
            isNegated = true
            index += 1
        }
        var members: [Member] = []
        var isFirst = true
        while index < pattern.count {
            if pattern[index] == .closeBracket && !isFirst {
                return (BracketClass(isNegated: isNegated, members: members), index + 1)
            }
            isFirst = false
            if let nameRange = NamedClass.nameRange(pattern, at: index) {
                guard let named = NamedClass(rawValue: String(decoding: pattern[nameRange], as: UTF8.self)) else {
                    return nil
                }
                members.append(.named(named))
                index = nameRange.upperBound + 2  // after ":]"
                continue
            }
            guard let (low, afterLow) = member(pattern, at: index) else {
                return nil
            }
            index = afterLow
            if index + 1 < pattern.count, pattern[index] == .dash, pattern[index + 1] != .closeBracket {
                guard let (high, afterHigh) = member(pattern, at: index + 1) else {
                    return nil
                }
                members.append(.range(low, high))
                index = afterHigh
            } else {
                members.append(.range(low, low))
            }
        }
        return nil
    }

    /// The (possibly backslash-escaped) character at `index` and the index after it.
    private static func member(_ pattern: [UInt8], at index: Int) -> (UInt32, Int)? {
        var index = index
        if pattern[index] == .backslash {
            index += 1
            guard index < pattern.count else {
                return nil
            }
        }
        let (scalar, length) = decodeScalar(pattern, at: index, end: pattern.count)
        return (scalar, index + length)
    }

    func contains(_ scalar: UInt32) -> Bool {
        let isMember = members.contains { member in
            switch member {
            case .range(let low, let high):
                return low <= scalar && scalar <= high
            case .named(let named):
                return named.contains(scalar)
            }
        }
        return isMember != isNegated
    }
}

/// POSIX character classes inside brackets, e.g. `[[:digit:]]` (ASCII only).
enum NamedClass: String, Sendable {
    case alnum, alpha, blank, cntrl, digit, graph, lower, print, punct, space, upper, xdigit

    /// The range of `name` if a `[:name:]` starts at `start`. As in git, `[:` without a `:]` before the
    /// next `]` is no class: its `[` is an ordinary member.
    static func nameRange(_ pattern: [UInt8], at start: Int) -> Range<Int>? {
        guard start + 1 < pattern.count, pattern[start] == .openBracket, pattern[start + 1] == .colon,
            let close = pattern[(start + 2)...].firstIndex(of: .closeBracket),
            close - 1 >= start + 2, pattern[close - 1] == .colon
        else {
            return nil
        }
        return (start + 2)..<(close - 1)
    }

    func contains(_ scalar: UInt32) -> Bool {
        guard scalar < 0x80 else {
            return false
        }
        let isDigit = (0x30...0x39).contains(scalar)
        let isUpper = (0x41...0x5A).contains(scalar)
        let isLower = (0x61...0x7A).contains(scalar)
        let isGraph = (0x21...0x7E).contains(scalar)
        switch self {
        case .alnum: return isDigit || isUpper || isLower
        case .alpha: return isUpper || isLower
        case .blank: return scalar == 0x20 || scalar == 0x09
        case .cntrl: return scalar < 0x20 || scalar == 0x7F
        case .digit: return isDigit
        case .graph: return isGraph
        case .lower: return isLower
        case .print: return isGraph || scalar == 0x20
        case .punct: return isGraph && !(isDigit || isUpper || isLower)
        case .space: return scalar == 0x20 || (0x09...0x0D).contains(scalar)
        case .upper: return isUpper
        case .xdigit: return isDigit || (0x41...0x46).contains(scalar) || (0x61...0x66).contains(scalar)
        }
    }
}

// MARK: - Bytes

/// Decodes the UTF-8 scalar starting at `index` (before `end`): its value and its length in bytes.
/// A malformed byte decodes as itself, one byte long, so matching always makes progress.
private func decodeScalar<Bytes: RandomAccessCollection<UInt8>>(
    _ bytes: Bytes, at index: Int, end: Int
) -> (value: UInt32, length: Int) where Bytes.Index == Int {
    let lead = bytes[index]
    let length: Int
    switch lead {
    case 0xC0..<0xE0: length = 2
    case 0xE0..<0xF0: length = 3
    case 0xF0..<0xF8: length = 4
    default: return (UInt32(lead), 1)
    }
    guard index + length <= end else {
        return (UInt32(lead), 1)
    }
    var value = UInt32(lead) & (0x7F >> UInt32(length))
    for offset in 1..<length {
        let byte = bytes[index + offset]
        guard byte & 0xC0 == 0x80 else {
            return (UInt32(lead), 1)
        }
        value = value << 6 | UInt32(byte & 0x3F)
    }
    return (value, length)
}

/// The bytes the ignore syntax gives a meaning to.
extension UInt8 {
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let slash = UInt8(ascii: "/")
    static let backslash = UInt8(ascii: "\\")
    static let hash = UInt8(ascii: "#")
    static let bang = UInt8(ascii: "!")
    static let caret = UInt8(ascii: "^")
    static let star = UInt8(ascii: "*")
    static let question = UInt8(ascii: "?")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let dash = UInt8(ascii: "-")
    static let colon = UInt8(ascii: ":")
}
