/// "Did you mean" for a misspelt name — a role, an option, a verb, a configuration key, a
/// rule, a type — the same everywhere.
public enum DidYouMean {
    /// The candidate closest to `word`, if it is within `maximum` edits (at most half the
    /// word's length; a swap of two neighbours and a change of case each count as one) and
    /// no other candidate is as close.
    public static func closest(to word: String, among candidates: [String], maximum: Int = 2) -> String? {
        let limit = min(maximum, max(1, word.count / 2))
        let scored = candidates.filter { $0 != word }.map { (candidate: $0, distance: distance(word, $0)) }
            .filter { $0.distance <= limit }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        return scored.filter { $0.distance == best.distance }.count == 1 ? best.candidate : nil
    }

    /// " (did you mean 'NAME'?)" for the closest of `known` to `word`, else "".
    public static func phrase(for word: String, among known: [String]) -> String {
        closest(to: word, among: known).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// The optimal-string-alignment distance: insertions, deletions, substitutions and
    /// transpositions of neighbours each cost one; letters differing only in case cost nothing
    /// more than one edit for the whole word (`Settle` is one from `settle`).
    public static func distance(_ left: String, _ right: String) -> Int {
        let a = Array(left.lowercased()), b = Array(right.lowercased())
        let caseOnly = left != right && a == b ? 1 : 0
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
        return table[a.count][b.count] + caseOnly
    }
}
