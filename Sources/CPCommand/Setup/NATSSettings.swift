import NATSClient

extension NATSOptions {
    /// A role's NATS options from its settings: `--nats-url` (several for a cluster),
    /// `--nats-creds`, `--nats-ca` and `--nats-domain`, with `name` as the client name.
    init(settings: ResolvedSettings, name: String) {
        let urls = settings.values("nats-url").compactMap(\.text)
        self.init(urls: urls.isEmpty ? ["nats://127.0.0.1:4222"] : urls, name: name)
        credentialsFile = settings.value("nats-creds")?.text
        caFile = settings.value("nats-ca")?.text
        jetStreamDomain = settings.value("nats-domain")?.text
    }
}
