#if canImport(Glibc)
    import Glibc
#endif

/// C copies of Swift strings that live as long as this object: libnats' configuration
/// structs hold `const char *` fields that must stay valid for the duration of a call.
final class CStrings {
    private var copies: [UnsafeMutablePointer<CChar>] = []

    /// A C copy of `text`, freed with this object.
    func callAsFunction(_ text: String) -> UnsafePointer<CChar>? {
        guard let copy = strdup(text) else { return nil }
        copies.append(copy)
        return UnsafePointer(copy)
    }

    /// A C array of C copies of `texts`, freed with this object.
    func array(_ texts: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
        let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, texts.count))
        for (index, text) in texts.enumerated() { list[index] = self(text) }
        lists.append(list)
        return list
    }

    private var lists: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []

    deinit {
        copies.forEach { free($0) }
        lists.forEach { $0.deallocate() }
    }
}
