import Hummingbird

/// The coordinator role (DESIGN §6). Its REST API is served with Hummingbird; the manager
/// itself arrives with its issue, and this module exists now so that every build compiles
/// Hummingbird and CI's build time is known from the start.
public enum MajorDomoServer {
    /// The Hummingbird version family the REST API is written against.
    public static let httpServerFamily = "hummingbird 2"
}
