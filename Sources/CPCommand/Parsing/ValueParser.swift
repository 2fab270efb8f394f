import CPModel
import Foundation

/// Turns the text given for an option or positional into a checked `OptionValue`.
/// Errors are the reason only ("expected an integer"); callers name the option.
enum ValueParser {
    /// Parses `text` as `type`; `home` expands a leading `~/` in paths.
    static func parse(_ text: String, as type: ValueType, home: String?) -> Result<OptionValue, ValueError> {
        switch type {
        case .string:
            return text.isEmpty ? .failure(.init("expected a non-empty value")) : .success(.string(text))
        case .token:
            let allowed = text.utf8.allSatisfy { byte in
                byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || (byte < 0x80 && isalnum(Int32(byte)) != 0)
            }
            return !text.isEmpty && allowed
                ? .success(.string(text)) : .failure(.init("expected a name of letters, digits, '-' and '_'"))
        case .integer(let range): return integer(text, in: range)
        case .duration: return duration(text).map { .duration($0) }
        case .hostPort: return hostPort(text).map { .hostPort($0) }
        case .url(let schemes): return url(text, schemes: schemes)
        case .path: return path(text, home: home)
        case .choice(let words):
            if words.contains(text) { return .success(.string(text)) }
            var reason = "expected one of " + words.joined(separator: ", ")
            if let close = DidYouMean.closest(to: text, among: words) { reason += "; did you mean '\(close)'?" }
            return .failure(.init(reason))
        }
    }

    private static func integer(_ text: String, in range: ClosedRange<Int>) -> Result<OptionValue, ValueError> {
        guard let number = Int(text) else { return .failure(.init("expected an integer")) }
        guard range.contains(number) else {
            return .failure(.init("out of range; expected \(range.lowerBound)…\(range.upperBound)", quoteValue: false))
        }
        return .success(.integer(number))
    }

    /// `200ms`, `2s`, `1.5s`, `1m`, `2h`, and sums such as `1m30s`.
    static func duration(_ text: String) -> Result<Duration, ValueError> {
        let failure = ValueError("expected a duration like 200ms, 2s, 1m or 1h")
        var total = Duration.zero
        var rest = Substring(text)
        guard !rest.isEmpty else { return .failure(failure) }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard let value = Double(number), value.isFinite else { return .failure(failure) }
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .milliseconds(value * 1000)
            case "m": total += .milliseconds(value * 60_000)
            case "h": total += .milliseconds(value * 3_600_000)
            case "": return .failure(.init("a duration needs a unit: ms, s, m or h (as in 2s)"))
            default: return .failure(.init("unknown unit '\(unit)'; use ms, s, m or h"))
            }
        }
        return .success(total)
    }

    static func hostPort(_ text: String) -> Result<HostPort, ValueError> {
        let failure = ValueError("expected HOST:PORT, such as 127.0.0.1:8420")
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else {
                return .failure(failure)
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                return .failure(failure)
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace) else { return .failure(failure) }
        guard let port = UInt16(portText) else {
            return .failure(.init("port '\(portText)' is not a number in 0…65535", quoteValue: true))
        }
        return .success(HostPort(host: String(host), port: port))
    }

    private static func url(_ text: String, schemes: [String]) -> Result<OptionValue, ValueError> {
        let example = "\(schemes.first ?? "http")://HOST:PORT"
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            let host = components.host, !host.isEmpty
        else { return .failure(.init("expected a URL such as \(example)")) }
        guard schemes.contains(scheme.lowercased()) else {
            let allowed = schemes.map { "\($0)://" }.joined(separator: ", ")
            return .failure(.init("unsupported scheme '\(scheme)'; expected \(allowed)"))
        }
        return .success(.url(text))
    }

    private static func path(_ text: String, home: String?) -> Result<OptionValue, ValueError> {
        guard !text.isEmpty else { return .failure(.init("expected a path")) }
        guard !text.contains("\0") else { return .failure(.init("a path cannot contain a NUL byte")) }
        if let home, text == "~" || text.hasPrefix("~/") {
            return .success(.path(home + text.dropFirst()))
        }
        return .success(.path(text))
    }
}

/// Why a value was refused; `quoteValue` says whether the message should show the value.
struct ValueError: Error, Equatable {
    let reason: String
    let quoteValue: Bool

    init(_ reason: String, quoteValue: Bool = true) {
        self.reason = reason
        self.quoteValue = quoteValue
    }
}
