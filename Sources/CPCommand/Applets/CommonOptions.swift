/// Option groups shared by several applets.
public enum CommonOptions {
    /// Accepted by every applet (`-h`/`--help` is handled by the parser itself).
    public static let global: [OptionSpec] = [
        .flag("help", short: "h", config: .none, help: "show this help and exit"),
        .flag(
            "verbose", short: "v", repeatable: true, config: .none,
            help: "log more on stderr; -vv and -vvv for more still"),
        .flag("quiet", short: "q", config: .none, help: "log only errors on stderr"),
        .value(
            "config", .path, metavar: "FILE", config: .none,
            help: "read this configuration file instead of ./cp.yaml or ~/.config/computepods/cp.yaml"),
        .flag(
            "show-config", config: .none,
            help: "print every setting's value and where it came from, then exit"),
    ]

    /// Connecting to the NATS back-plane (DESIGN §3); the `nats:` section of `cp.yaml`.
    public static let nats: [OptionSpec] = [
        .value(
            "nats-url", .url(schemes: ["nats", "tls"]), metavar: "URL", repeatable: true,
            default: "nats://127.0.0.1:4222", config: .key(ConfigKey("nats", "url")),
            help: "NATS server to connect to; give several for a cluster"),
        .value(
            "nats-creds", .path, metavar: "FILE", config: .key(ConfigKey("nats", "creds")),
            help: "NATS credentials file (user JWT and NKey seed)"),
        .value(
            "nats-ca", .path, metavar: "FILE", config: .key(ConfigKey("nats", "ca")),
            help: "CA certificate that signs the NATS server's TLS certificate"),
        .value(
            "nats-domain", .token, metavar: "NAME", config: .key(ConfigKey("nats", "domain")),
            help:
                "JetStream domain of the hub's streams, for roles on a leaf node's server (the README's 'Several pods')"
        ),
    ]

    /// Long-running roles announce themselves on `heartbeat.<role>.<name>`.
    public static func presence(role: String) -> [OptionSpec] {
        [
            .value(
                "name", .string, metavar: "NAME", defaultNote: "the host name",
                help: "this \(role)'s name in heartbeats and logs"),
            .value(
                "heartbeat", .duration, metavar: "DURATION", default: "10s",
                help: "how often to publish heartbeat.\(role).NAME"),
        ]
    }

    /// Logging in to another pod's SSH server and trusting it (`cp sftp`, `cp chef`).
    public static let ssh: [OptionSpec] = [
        .value(
            "identity", short: "i", .path, metavar: "KEY",
            help: "authenticate with this private key instead of the ssh-agent"),
        .value(
            "passphrase-file", .path, metavar: "FILE",
            help: "read the key's passphrase from FILE"),
        .value(
            "known-hosts", .path, metavar: "FILE", defaultNote: "~/.ssh/known_hosts",
            help: "check host keys against FILE"),
    ]

    /// `-j`: how many jobs run at once.
    public static let jobs = OptionSpec.value(
        "jobs", short: "j", .integer(1...1024), metavar: "N", defaultNote: "the number of CPU cores",
        help: "run at most N jobs at once")

    /// `--rules DIR`: where rules files (`*.ryml`) are loaded from.
    public static let rules = OptionSpec.value(
        "rules", .path, metavar: "DIR", repeatable: true,
        help: "load rules files (*.ryml) from DIR, recursively")

    /// `--max-passes`: the bound on fixed-point passes of a cyclic component (DESIGN §5).
    public static let maxPasses = OptionSpec.value(
        "max-passes", .integer(1...100), metavar: "N", default: "5",
        help: "give up on a cyclic component that has not converged after N passes")
}
