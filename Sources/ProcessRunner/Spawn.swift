import CPModel
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `posix_spawn` as every part of `cp` uses it: stdin from /dev/null, stdout and stderr where
/// the spec says, every other descriptor closed (a leaked pipe end keeps a reader such as CI's
/// `tee` waiting forever), default signal dispositions and an empty signal mask (ignored
/// signals survive exec), optionally a process group of its own. Returns the child's pid.
func spawn(_ spec: ProcessSpec, argv0: String? = nil) throws(ProcessError) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    addOutput(spec.stdout, as: 1, to: &actions)
    addOutput(spec.stderr, as: 2, to: &actions)
    addCloseFrom3(&actions)
    if let directory = spec.directory {
        guard let addChdir, addChdir(&actions, directory) == 0 else {
            throw .cannotStart(program: spec.executable, errno: ENOSYS)
        }
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
    if spec.ownProcessGroup {
        posix_spawnattr_setpgroup(&attributes, 0)  // a group of its own, led by the child
        flags |= POSIX_SPAWN_SETPGROUP
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))
    let argv = ([argv0 ?? spec.executable] + spec.arguments).map { strdup($0) } + [nil]
    let environment = spec.environment ?? ProcessInfo.processInfo.environment
    let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv + envp { free(pointer) }
    }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, spec.executable, &actions, &attributes, argv, envp)
    guard result == 0 else { throw .cannotStart(program: argv0 ?? spec.executable, errno: result) }
    return pid
}

private func addOutput(_ output: ProcessSpec.Output, as target: Int32, to actions: inout posix_spawn_file_actions_t) {
    switch output {
    case .discard: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
    case .file(let path):
        posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
    case .stdout: posix_spawn_file_actions_adddup2(&actions, 1, target)
    }
}

private typealias AddChdir =
    @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

/// GNU extensions (glibc ≥ 2.34) that Swift's Glibc module, built without `_GNU_SOURCE`, does
/// not declare.
private let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
    .map { unsafeBitCast($0, to: AddChdir.self) }
private let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
    .map { unsafeBitCast($0, to: CloseFrom.self) }

/// Closes every descriptor from 3 up in the child; without `closefrom`, each one open now
/// (racy against other threads opening more, but better than leaking).
private func addCloseFrom3(_ actions: inout posix_spawn_file_actions_t) {
    if let closeFrom, closeFrom(&actions, 3) == 0 { return }
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in open.compactMap({ Int32($0) }) where fd >= 3 {
        posix_spawn_file_actions_addclose(&actions, fd)
    }
}

/// A pipe whose ends close on exec (Swift's Glibc module has no `pipe2`; the spawn's
/// close-from action covers the moment between `pipe` and `fcntl`).
func makePipe(nonBlocking: Bool = false) -> (read: Int32, write: Int32)? {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return nil }
    for fd in fds {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    return (fds[0], fds[1])
}

/// The one thread that spawns children whose life is tied to this process's.
///
/// `PR_SET_PDEATHSIG` (set by `setpriv --pdeathsig`) fires when the *thread* that created the
/// child exits, not the process. Swift's pool threads come and go, so spawning from them
/// would kill children at random; this thread lives as long as the process.
let spawnThread = SerialThread(name: "cp-spawner")

/// Finds the programs `cp` runs, and says how to install a missing one.
public enum Executables {
    /// `$PATH` first, then the sbin directories Debian uses for daemons (`nats-server` and
    /// `sshd` live in /usr/sbin, which is not on an ordinary user's PATH).
    public static var defaultSearchPath: [String] {
        let fromEnvironment = (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map(String.init)
        var seen = Set<String>()
        return (fromEnvironment + ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/bin"])
            .filter { $0.hasPrefix("/") && seen.insert($0).inserted }
    }

    /// The apt command that provides each program `cp` or its tests run.
    public static func installCommand(for name: String) -> String {
        switch name {
        case "nats-server": return "apt-get install nats-server"
        case "sshd": return "apt-get install openssh-server openssh-sftp-server"
        case "ssh", "ssh-keygen", "sftp", "scp": return "apt-get install openssh-client"
        case "setpriv": return "apt-get install util-linux"
        case "sqlite3": return "apt-get install sqlite3"
        default: return "apt-get install <the package that provides \(name)>"
        }
    }

    /// The absolute path of the executable `name` (or `name` itself when it is an absolute
    /// path to one); `.missingProgram` with the install command otherwise.
    public static func locate(_ name: String, searchPath: [String]? = nil) throws(ProcessError) -> String {
        if name.hasPrefix("/") {
            if isExecutableFile(name) { return name }
            let base = String(name.split(separator: "/").last ?? Substring(name))
            throw .missingProgram(name: base, install: installCommand(for: base))
        }
        for directory in searchPath ?? defaultSearchPath where directory.hasPrefix("/") {
            let candidate = directory.hasSuffix("/") ? directory + name : "\(directory)/\(name)"
            if isExecutableFile(candidate) { return candidate }
        }
        throw .missingProgram(name: name, install: installCommand(for: name))
    }

    /// The program of a task's argv: as given when it holds a '/' (relative to `directory`),
    /// else the first executable of that name on `searchPath` (a PATH value).
    public static func resolve(_ program: String, in directory: String, searchPath: String) throws(ProcessError)
        -> String
    {
        if program.contains("/") { return program.hasPrefix("/") ? program : directory + "/" + program }
        for entry in searchPath.split(separator: ":") where access(entry + "/" + program, X_OK) == 0 {
            return entry + "/" + program
        }
        throw .notFound(program: program, path: searchPath)
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
