import CPModel
import Logging

/// Runs one applet: parse, set up what its table entry asks for, run (git's `run_builtin`).
struct AppletRunner {
    let applet: Applet
    let context: ProcessContext

    func run(_ arguments: [String]) async -> ExitStatus {
        let parser = ArgumentParser(globalOptions: CommonOptions.global, home: context.home)
        let parsed: ParsedCommand
        switch parser.parse(arguments, for: applet.command) {
        case .failure(let usage):
            Output.error(applet.name, usage.message)
            return .usage
        case .success(let result):
            parsed = result
        }
        if parsed.helpRequested {
            Output.out(HelpText.render(parsed.chain, applet: applet))
            return .success
        }
        let settings: ResolvedSettings
        switch resolveSettings(parsed) {
        case .failure(let problem):
            Output.error(applet.name, problem.description)
            return .usage
        case .success(let resolved):
            settings = resolved
        }
        if parsed.flag("show-config") {
            Output.out(ShowConfig.render(settings))
            return .success
        }
        if applet.setup.contains(.logging) { Self.bootstrapLogging(parsed) }
        let body: @Sendable (Invocation) async throws -> ExitStatus
        switch (applet.availability, parsed.chain.reversed().lazy.compactMap(\.run).first) {
        case (.planned, _):
            Output.error(applet.name, "not available yet (see the README's roadmap)")
            return .failure
        case (_, let verb?): body = verb
        case (.ready(let run), nil): body = run
        case (.byVerb, nil):  // every verb has its own run (`everyVerbOfARoleThatRunsByVerbHasARun`)
            Output.error(applet.name, "'\(parsed.path.joined(separator: " "))' does nothing by itself")
            return .failure
        }
        do {
            return try await body(Invocation(parsed: parsed, settings: settings))
        } catch {
            Output.error(applet.name, "\(error)")
            return .failure
        }
    }

    /// Reads the configuration file and environment when the applet asks for it; otherwise
    /// only the command line counts.
    func resolveSettings(_ parsed: ParsedCommand) -> Result<ResolvedSettings, ConfigurationError> {
        let configuration = Configuration(
            environment: context.environment, workingDirectory: context.workingDirectory, home: context.home)
        let useFiles = applet.setup.contains(.configuration)
        let path = useFiles ? configuration.locate(explicit: parsed.value("config")?.text) : nil
        do throws(ConfigurationError) {
            var file: YAMLValue?
            if let path {
                do { file = try configuration.load(file: path) } catch { throw .file(error) }
            }
            let environment =
                useFiles
                ? configuration
                : Configuration(
                    environment: [:], workingDirectory: context.workingDirectory, home: context.home)
            return .success(try environment.resolve(parsed, applet: applet, file: file, filePath: path))
        } catch {
            return .failure(error)
        }
    }

    /// swift-log to stderr: errors only with `-q`, notices by default, more with each `-v`.
    static func bootstrapLogging(_ parsed: ParsedCommand) {
        let level: Logger.Level
        switch (parsed.flag("quiet"), parsed.count("verbose")) {
        case (true, _): level = .error
        case (false, 0): level = .notice
        case (false, 1): level = .info
        case (false, 2): level = .debug
        default: level = .trace
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// `--show-config`: every setting with its value and source, one per line.
enum ShowConfig {
    static func render(_ settings: ResolvedSettings) -> String {
        var lines = ["# configuration file: " + (settings.configFile ?? "none")]
        for setting in settings.settings {
            guard let key = setting.key else { continue }
            let value: String
            switch (setting.values.count, setting.values.first) {
            case (0, _): value = ""
            case (1, .flag?): value = "true"
            case (1, let only?): value = only.description
            default: value = "[" + setting.values.map(\.description).joined(separator: ", ") + "]"
            }
            lines.append("\(key) = \(value)  # \(setting.source)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
