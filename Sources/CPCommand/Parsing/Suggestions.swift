/// "Did you mean" for misspelt options, verbs and roles.
public enum Suggestions {
    /// The candidate closest to `word`, if it is within `maximum` edits (a swap of two
    /// neighbours counts as one) and unambiguous.
    public static func closest(to word: String, among candidates: [String], maximum: Int = 2) -> String? {
        let limit = min(maximum, max(1, word.count / 2))
        let scored = candidates.map { (candidate: $0, distance: distance(word, $0)) }
            .filter { $0.distance > 0 && $0.distance <= limit }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        let ties = scored.filter { $0.distance == best.distance }
        return ties.count == 1 ? best.candidate : nil
    }

    /// The optimal-string-alignment distance: insertions, deletions, substitutions and
    /// transpositions of neighbours each cost one.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = min(best, table[i - 2][j - 2] + 1)
                }
                table[i][j] = best
            }
        }
        return table[a.count][b.count]
    }
}
