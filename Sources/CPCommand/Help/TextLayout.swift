/// Plain-text layout for help: word wrapping and two-column lists.
enum TextLayout {
    static let width = 80

    /// `text` wrapped to `width` columns, every line indented by `indent` spaces.
    static func wrap(_ text: String, indent: Int = 0, width: Int = width) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = ""
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            if !line.isEmpty && pad.count + line.count + 1 + word.count > width {
                lines.append(pad + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(pad + line) }
        return lines.joined(separator: "\n")
    }

    /// Rows of `term  description`, descriptions aligned and wrapped; a long term puts its
    /// description on the next line.
    static func columns(_ rows: [(String, String)], indent: Int = 2, gap: Int = 2) -> String {
        let column = min(30, (rows.map(\.0.count).max() ?? 0) + indent + gap)
        return rows.map { term, description in
            let head = String(repeating: " ", count: indent) + term
            let body = wrap(description, indent: column)
            if head.count + gap > column { return head + "\n" + body }
            let firstLine = body.dropFirst(min(column, body.count))
            return head + String(repeating: " ", count: column - head.count) + firstLine
        }.joined(separator: "\n")
    }
}
