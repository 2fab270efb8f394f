/// The applet table: one sorted array from which `cp --list`, help, completions, man pages and
/// "did you mean" are all derived (STYLE: the applet table is data).
public enum Applets {
    /// Every role, sorted by name (`appletTableIsSortedAndUnique` checks it).
    public static let all: [Applet] = [chef, ctrl, graph, majordomo, sftp, up, watch]

    /// The applet called `name`, if there is one.
    public static func named(_ name: String) -> Applet? {
        all.first { $0.name == name }
    }

    /// The applet a symlink named `name` stands for (`inotify2nats` → watch).
    public static func invokedAs(_ name: String) -> Applet? {
        all.first { $0.invocationNames.contains(name) }
    }
}
