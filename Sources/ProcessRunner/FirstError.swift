/// The line of a tool's output that says what went wrong first, for a failed task's one-line
/// message: a TeX error (`./thesis.tex:13: Undefined control sequence.` with
/// `-file-line-error`, or `! …`) with the source line TeX shows after it (`l.13 \foo`), or a
/// compiler's `file:line:col: error: …`. Nil when no line looks like one.
public enum FirstError {
    public static func find(in lines: [String]) -> String? {
        for (index, line) in lines.enumerated() {
            if isTeXError(line) {
                let message = line.hasPrefix("! ") ? String(line.dropFirst(2)) : line
                // TeX shows the offending input as `l.N text` within the next lines.
                let context = lines[(index + 1)..<min(lines.count, index + 12)].first { isTeXContext($0) }
                return message + (context.map { " (at \($0.trimmingCharacters(in: .whitespaces)))" } ?? "")
            }
            if line.contains(": error: ") || line.contains(": fatal error: ") { return line }
        }
        return nil
    }

    /// `! message`, or `file.tex:LINE: message` (any TeX source extension).
    static func isTeXError(_ line: String) -> Bool {
        if line.hasPrefix("! ") { return true }
        let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix(" "), !parts[1].isEmpty, parts[1].allSatisfy(\.isNumber) else {
            return false
        }
        return [".tex", ".sty", ".cls", ".ltx", ".bbl", ".aux", ".toc", ".ind"].contains { parts[0].hasSuffix($0) }
    }

    /// `l.13 \foo`: where TeX stopped.
    static func isTeXContext(_ line: String) -> Bool {
        guard line.hasPrefix("l.") else { return false }
        let number = line.dropFirst(2).prefix { $0.isNumber }
        return !number.isEmpty
    }
}
