import CPModel
import Foundation
import Hashing
import Logging
import NATSClient
import RESTClient
import SFTPClient
import Synchronization

/// The binary's entry point: dispatch by invocation name or first argument (DESIGN §1, §1.1).
public enum CommandLineTool {
    /// The product's version.
    public static let version = "0.1.0"

    /// The process's entry point: runs the command line `arguments` (argv[0] first) and exits.
    ///
    /// It is synchronous on purpose. The hand-off to coreutils runs first, on the main thread,
    /// before Swift's concurrency runtime has started a single thread (an async `main` runs on a
    /// pool thread and spawned three before the exec; `bench/cp-handoff` measures the rest).
    public static func main(_ arguments: [String]) -> Never {
        let action = decide(arguments)
        if case .handOff(let rest) = action {
            Output.error(nil, SystemCopy.exec(rest))  // returns only if the exec failed
            exit(ExitStatus.failure.rawValue)
        }
        let status = Atomic<Int32>(ExitStatus.failure.rawValue)
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            status.store(await perform(action).rawValue, ordering: .releasing)
            finished.signal()
        }
        finished.wait()  // the main thread is not one of the pool's, so blocking it is safe
        exit(status.load(ordering: .acquiring))
    }

    private static func decide(_ arguments: [String]) -> TopLevelAction {
        // Plain Swift, no Foundation: the hand-off path should start as little as possible.
        let invokedAs = arguments.first?.split(separator: "/").last.map(String.init) ?? "cp"
        return TopLevelAction.decide(Array(arguments.dropFirst()), invokedAs: invokedAs)
    }

    private static func perform(_ action: TopLevelAction) async -> ExitStatus {
        switch action {
        case .applet(let name, let rest):
            guard let applet = Applets.named(name) else { return .failure }
            return await AppletRunner(applet: applet, context: .process).run(rest)
        case .overview:
            Output.out(HelpText.overview())
        case .missingCommand:
            Output.err(HelpText.overview())
            return .usage
        case .version:
            Output.out(versionText())
        case .list:
            Output.out(Applets.all.map { $0.name + "\n" }.joined())
        case .helpFor(let name):
            guard let applet = Applets.named(name) else { return .failure }
            Output.out(HelpText.render([applet.command], applet: applet))
        case .unknownHelpTopic(let topic, let suggestion):
            Output.error(
                nil,
                "no help for '\(topic)': it is not a role"
                    + (suggestion.map { "; did you mean '\($0)'?" } ?? "; see 'cp --list'"))
            return .usage
        case .didYouMean(let word, let suggestion):
            Output.error(nil, "unknown command '\(word)'; did you mean '\(suggestion)'?")
            return .usage
        case .unknownCommand(let word, let suggestion):
            Output.error(
                nil, "unknown command '\(word)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "; see 'cp --list'")
            )
            return .usage
        case .generateDocs(let directory):
            return Documentation.write(to: directory)
        case .handOff:
            return .failure  // handled in main, before anything else runs
        }
        return .success
    }

    /// `cp --version`: the product's and the linked C libraries' versions.
    static func versionText() -> String {
        """
        cp \(version) (ComputePods)
        libnats \(NATSLibrary.version)
        libssh \(SSHLibrary.version)
        \(CurlLibrary.version)
        \(OpenSSLLibrary.version)

        """
    }
}

/// The process facts an applet run depends on; tests pass their own.
struct ProcessContext: Sendable {
    var environment: [String: String]
    var workingDirectory: String
    var home: String?

    static var process: ProcessContext {
        let environment = ProcessInfo.processInfo.environment
        return ProcessContext(
            environment: environment,
            workingDirectory: FileManager.default.currentDirectoryPath,
            home: environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path)
    }
}
