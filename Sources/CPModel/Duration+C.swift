/// Durations as the C libraries take them.
extension Duration {
    /// Whole milliseconds, at least 1 (libnats' and libcurl's timeouts; 0 would mean "none").
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// Seconds with their fraction, for rates and messages.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Nanoseconds, as JetStream's configuration takes them.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
