/// A value per index of `0..<count`, all `fallback` at first: an array when most will be
/// touched (a whole build), a dictionary of those touched when few will be (a change reaching
/// a few hundred tasks of 50,000). A build after one change then allocates what it reaches,
/// not what the graph holds — fresh memory is slow to fault in on a shared machine, and it is
/// most of such a build's cost.
struct Slots<Value> {
    private var dense: [Value]
    private var sparse: [Int: Value] = [:]
    private let fallback: Value
    private let isDense: Bool

    /// `count` slots holding `fallback`; `sparse`: only those set take room.
    init(repeating fallback: Value, count: Int, sparse: Bool) {
        self.fallback = fallback
        isDense = !sparse
        dense = sparse ? [] : Array(repeating: fallback, count: count)
    }

    subscript(index: Int) -> Value {
        get { isDense ? dense[index] : sparse[index] ?? fallback }
        _modify {
            if isDense {
                yield &dense[index]
            } else {
                let fallback = fallback
                yield &sparse[index, default: fallback]
            }
        }
        set {
            if isDense { dense[index] = newValue } else { sparse[index] = newValue }
        }
    }

    /// The indices set (sparse) or all of them (dense), in increasing order, with their values.
    var ordered: [(index: Int, value: Value)] {
        isDense
            ? dense.enumerated().map { ($0.offset, $0.element) }
            : sparse.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
