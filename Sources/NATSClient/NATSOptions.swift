/// How to connect to NATS (DESIGN §3, the `nats:` section of cp.yaml).
public struct NATSOptions: Sendable {
    /// Server URLs (`nats://`, `tls://`); user and password or a token may be in them.
    public var urls: [String]
    /// The client name the server shows in its connection list.
    public var name: String
    /// A credentials file (user JWT and NKey seed).
    public var credentialsFile: String?
    /// A CA certificate file for TLS; setting it requires TLS.
    public var caFile: String?
    /// The JetStream domain of the server whose streams to use (`$JS.<domain>.API`): a leaf
    /// node's clients reach the hub's streams only through it (PLATFORM.md); nil: the local
    /// server's.
    public var jetStreamDomain: String?
    /// How long one connection attempt may take.
    public var connectTimeout: Duration = .seconds(5)
    /// How long to wait between reconnection attempts; reconnection never gives up.
    public var reconnectWait: Duration = .milliseconds(250)
    /// Bytes of publishes held while disconnected; past it, publishing throws
    /// `.reconnectBufferFull` (never a silent drop).
    public var reconnectBufferBytes: Int = 64 << 20
    /// Messages a subscription may hold before its consumer takes them; past it, messages are
    /// dropped, counted and logged (PLATFORM.md: libnats' default of 65,536 drops bursts).
    /// libnats derives a byte limit of 1 KiB per message from it in 32 bits, so it must stay
    /// under 2,097,152.
    public var pendingMessageLimit: Int = 1_000_000
    /// Bytes a subscription may hold, likewise.
    public var pendingByteLimit: Int = 1 << 30
    /// Write every publish at once instead of buffering: ≈0.15 ms instead of ≈1 ms per
    /// request/reply round trip, at the cost of throughput. The control connection uses it.
    public var sendAsap = false

    public init(urls: [String] = ["nats://127.0.0.1:4222"], name: String) {
        self.urls = urls
        self.name = name
    }
}
