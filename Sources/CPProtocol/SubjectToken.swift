/// Escaping of user data (paths, project and target names) in NATS subject tokens (DESIGN §3):
/// `.`, `*`, `>`, ASCII whitespace and `%` are percent-encoded, so a token never splits a
/// subject or acts as a wildcard; everything else, UTF-8 included, is kept. The JSON body
/// always carries the unescaped value.
public enum SubjectToken {
    /// `value` as one subject token. The empty string becomes `%` (a lone `%` never occurs
    /// otherwise), because NATS subjects cannot hold empty tokens.
    public static func escape(_ value: String) -> String {
        guard !value.isEmpty else { return "%" }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            if needsEscape(byte) {
                bytes += [UInt8(ascii: "%"), hexDigit(byte >> 4), hexDigit(byte & 0xF)]
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `path`'s components as tokens joined by `.`: `a/b.c` → `a.b%2Ec`.
    public static func escape(path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).map { escape(String($0)) }
            .joined(separator: ".")
    }

    /// The original value of an escaped token; nil if `token` is not a valid escape.
    public static func unescape(_ token: String) -> String? {
        if token == "%" { return "" }
        var bytes: [UInt8] = []
        var iterator = Array(token.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                if needsEscape(byte) { return nil }
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "*"), UInt8(ascii: ">"), UInt8(ascii: "%"),
            UInt8(ascii: " "), 0x09...0x0D:
            return true
        default:
            return false
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
