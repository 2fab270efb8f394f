import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Where the REST API listens: a Unix socket (mode 0600 in a 0700 directory) and TCP, as two
/// Hummingbird applications over one router, each a service of the role group.
public enum MajorDomoListeners {
    /// The applications for `router`: on `socket` (its directory made 0700 and the socket
    /// 0600 once bound) and on `host:port` (port 0: a free one). `onListening` hears each
    /// address once it accepts connections (`http://HOST:PORT` with the port bound).
    public static func applications(
        _ router: Router<BasicRequestContext>, socket: String?, host: String?, port: Int, logger: Logger,
        onListening: @escaping @Sendable (String) -> Void
    ) throws -> [any Service] {
        let responder = router.buildResponder()
        var services: [any Service] = []
        if let socket {
            try prepareSocketDirectory(socket)
            services.append(
                Application(
                    responder: responder, configuration: .init(address: .unixDomainSocket(path: socket)),
                    onServerRunning: { _ in
                        chmod(socket, 0o600)
                        onListening(socket)
                    }, logger: logger))
        }
        if let host {
            services.append(
                Application(
                    responder: responder, configuration: .init(address: .hostname(host, port: port)),
                    onServerRunning: { channel in
                        let bound = channel.localAddress?.port ?? port
                        onListening("http://\(host.contains(":") ? "[\(host)]" : host):\(bound)")
                    }, logger: logger))
        }
        return services
    }

    /// Makes the socket's directory (0700: only this user reaches the socket, whatever the
    /// umask gives the socket for the moment before its chmod).
    static func prepareSocketDirectory(_ socket: String) throws {
        let directory = (socket as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(directory, 0o700)
    }
}
