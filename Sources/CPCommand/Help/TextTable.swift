import Foundation

/// Listings for people: columns padded to their widest cell, a header in capitals; and the
/// times and durations they show.
enum TextTable {
    /// `header` and `rows` as aligned columns (the last one unpadded), a line each.
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return all.map { row in
            row.indices.map { column in
                column == row.count - 1
                    ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }.joined()
    }

    /// Seconds as `0.42 s`, `12.3 s` or `2 m 05 s`.
    static func seconds(_ value: Double) -> String {
        if value < 10 { return String(format: "%.2f s", value) }
        if value < 60 { return String(format: "%.1f s", value) }
        return String(format: "%d m %02d s", Int(value) / 60, Int(value) % 60)
    }

    /// Seconds since the epoch as the local `HH:MM:SS` (today) or `YYYY-MM-DD HH:MM`.
    static func time(_ epoch: Double) -> String {
        let date = Date(timeIntervalSince1970: epoch)
        let formatter = DateFormatter()
        formatter.dateFormat = Calendar.current.isDateInToday(date) ? "HH:mm:ss" : "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
