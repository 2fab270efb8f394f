import CPModel
import Foundation
import NATSClient
import TestSupport
import Testing

@testable import CPCommand

/// A private directory of files for one test.
typealias Scratch = TemporaryDirectory

/// Resolves `argv` for `cp watch` (or `role`) the way the dispatcher does.
private func resolve(
    _ argv: [String], role: String = "watch", environment: [String: String] = [:], in scratch: Scratch
) -> Result<ResolvedSettings, ConfigurationError> {
    let applet = Applets.named(role)!
    let context = ProcessContext(environment: environment, workingDirectory: scratch.path, home: scratch.path + "/home")
    let parsed = try! ArgumentParser(globalOptions: CommonOptions.global, home: context.home)
        .parse(argv, for: applet.command).get()
    return AppletRunner(applet: applet, context: context).resolveSettings(parsed)
}

private func message(_ result: Result<ResolvedSettings, ConfigurationError>) -> String? {
    if case .failure(let error) = result { return error.description }
    return nil
}

@Suite struct ConfigurationLookupTests {
    @Test func theExplicitFileComesFirst() throws {
        let scratch = try Scratch()
        try scratch.write("cp.yaml", "watch: {settle: 1s}\n")
        let explicit = try scratch.write("other.yaml", "watch: {settle: 3s}\n")
        let settings = try resolve(["--config", explicit, "."], in: scratch).get()
        #expect(settings.configFile == explicit)
        #expect(settings.value("settle")?.description == "3s")
    }

    @Test func theWorkingDirectoryComesBeforeTheUsersConfig() throws {
        let scratch = try Scratch()
        try scratch.write("home/.config/computepods/cp.yaml", "watch: {settle: 7s}\n")
        try scratch.write("cp.yaml", "watch: {settle: 1s}\n")
        #expect(try resolve(["."], in: scratch).get().value("settle")?.description == "1s")
    }

    @Test func theUsersConfigIsReadWhenTheWorkingDirectoryHasNone() throws {
        let scratch = try Scratch()
        let file = try scratch.write("home/.config/computepods/cp.yaml", "watch: {settle: 7s}\n")
        let settings = try resolve(["."], in: scratch).get()
        #expect(settings.configFile == file)
        #expect(settings.value("settle")?.description == "7s")
    }

    @Test func xdgConfigHomeReplacesDotConfig() throws {
        let scratch = try Scratch()
        try scratch.write("home/.config/computepods/cp.yaml", "watch: {settle: 7s}\n")
        try scratch.write("xdg/computepods/cp.yaml", "watch: {settle: 9s}\n")
        let settings = try resolve(["."], environment: ["XDG_CONFIG_HOME": scratch.path + "/xdg"], in: scratch).get()
        #expect(settings.value("settle")?.description == "9s")
    }

    @Test func noFileMeansDefaults() throws {
        let scratch = try Scratch()
        let settings = try resolve(["."], in: scratch).get()
        #expect(settings.configFile == nil)
        #expect(settings.setting("settle")?.source == .defaultValue)
        #expect(settings.value("settle")?.duration == .milliseconds(200))
        #expect(settings.setting("pod")?.source == .computed("the host name"))
        #expect(settings.values("nats-url").map(\.description) == ["nats://127.0.0.1:4222"])
    }

    @Test func aMissingExplicitFileIsAnError() throws {
        let scratch = try Scratch()
        #expect(
            message(resolve(["--config", "/nonexistent/x.yaml", "."], in: scratch))
                == "config '/nonexistent/x.yaml': cannot read: no such file")
    }
}

@Suite struct ConfigurationPrecedenceTests {
    @Test func commandLineBeatsFileBeatsEnvironmentBeatsDefault() throws {
        let scratch = try Scratch()
        try scratch.write("cp.yaml", "watch:\n  settle: 1s\n")
        let environment = ["CP_WATCH_SETTLE": "5s", "CP_WATCH_POD": "envpod"]
        let fromLine = try resolve(["--settle", "2s", "."], environment: environment, in: scratch).get()
        #expect(fromLine.value("settle")?.description == "2s")
        #expect(fromLine.setting("settle")?.source == .commandLine)
        let fromFile = try resolve(["."], environment: environment, in: scratch).get()
        #expect(fromFile.value("settle")?.description == "1s")
        #expect(
            fromFile.setting("settle")?.source
                == .file(SourceLocation(file: scratch.path + "/cp.yaml", line: 2, column: 11)))
        #expect(fromFile.value("pod")?.description == "envpod")
        #expect(fromFile.setting("pod")?.source == .environment("CP_WATCH_POD"))
    }

    @Test func sharedSectionsServeEveryRole() throws {
        let scratch = try Scratch()
        try scratch.write("cp.yaml", "nats:\n  url: [nats://a:1, nats://b:2]\n")
        for role in ["watch", "chef"] {
            let argv = role == "watch" ? ["."] : []
            let settings = try resolve(argv, role: role, in: scratch).get()
            #expect(settings.values("nats-url").map(\.description) == ["nats://a:1", "nats://b:2"])
        }
    }

    @Test func aListFromTheCommandLineReplacesTheFilesList() throws {
        let scratch = try Scratch()
        try scratch.write("cp.yaml", "watch:\n  ignore: ['*.o', '*.aux']\n")
        let settings = try resolve(["--ignore", "*.log", "."], in: scratch).get()
        #expect(settings.values("ignore").map(\.description) == ["*.log"])
        #expect(try resolve(["."], in: scratch).get().values("ignore").count == 2)
    }

    @Test func environmentListsAreYAMLFlowLists() throws {
        let scratch = try Scratch()
        let settings = try resolve(["."], environment: ["CP_WATCH_IGNORE": "['*.o', b]"], in: scratch).get()
        #expect(settings.values("ignore").map(\.description) == ["*.o", "b"])
        let single = try resolve(["."], environment: ["CP_NATS_URL": "nats://x:1"], in: scratch).get()
        #expect(single.values("nats-url").map(\.description) == ["nats://x:1"])
    }

    @Test func flagsComeFromTheFileAndTheEnvironment() throws {
        let scratch = try Scratch()
        #expect(try resolve(["."], environment: ["CP_WATCH_PRINT": "true"], in: scratch).get().flag("print"))
        #expect(try !resolve(["."], environment: ["CP_WATCH_PRINT": "0"], in: scratch).get().flag("print"))
        try scratch.write("cp.yaml", "watch: {print: yes}\n")
        #expect(try resolve(["."], in: scratch).get().flag("print"))
    }

    @Test func verbOptionsLiveInTheAppletsSection() throws {
        let scratch = try Scratch()
        try scratch.write("cp.yaml", "majordomo:\n  listen: 127.0.0.1:9000\n  heartbeat: 7s\n")
        let settings = try resolve(["serve"], role: "majordomo", in: scratch).get()
        #expect(settings.value("listen")?.description == "127.0.0.1:9000")
        #expect(settings.value("heartbeat")?.duration == .seconds(7))
    }

    @Test func showConfigNamesEverySource() throws {
        let scratch = try Scratch()
        try scratch.write("cp.yaml", "watch:\n  settle: 1s\n")
        let settings = try resolve(["--pod", "p1", "."], environment: ["CP_WATCH_STATE": "/s"], in: scratch).get()
        let text = ShowConfig.render(settings)
        #expect(text.contains("watch.settle = 1s  # config '\(scratch.path)/cp.yaml' line 2, column 11"))
        #expect(text.contains("watch.pod = p1  # command line"))
        #expect(text.contains("watch.state = /s  # environment CP_WATCH_STATE"))
        #expect(text.contains("watch.heartbeat = 10s  # default"))
        #expect(text.contains("watch.name =   # default: the host name"))
    }
}

@Suite struct ConfigurationErrorTests {
    private func error(_ file: String, role: String = "watch", argv: [String] = ["."]) throws -> (String?, String) {
        let scratch = try Scratch()
        let path = try scratch.write("cp.yaml", file)
        return (message(resolve(argv, role: role, in: scratch)), path)
    }

    @Test func aSyntaxErrorNamesLineAndColumn() throws {
        let (text, path) = try error("watch:\n  settle: 1s\n  ignore: [a\n")
        #expect(text?.hasPrefix("config '\(path)' line 4, column 1: ") == true)
    }

    @Test func anUnknownSectionSuggestsTheClosest() throws {
        let (text, path) = try error("wach:\n  settle: 1s\n")
        #expect(text == "config '\(path)' line 1, column 1: unknown section 'wach'; did you mean 'watch'?")
    }

    @Test func anUnknownSectionListsTheKnownOnes() throws {
        let (text, path) = try error("frobnicate: {}\n")
        #expect(
            text
                == "config '\(path)' line 1, column 1: unknown section 'frobnicate'; known sections: chef, ctrl, graph, majordomo, nats, sftp, up, watch"
        )
    }

    @Test func anUnknownKeySuggestsTheClosest() throws {
        let (text, path) = try error("watch:\n  setle: 1s\n")
        #expect(text == "config '\(path)' line 2, column 3: unknown key 'watch.setle'; did you mean 'watch.settle'?")
    }

    @Test func aBadValueIsCheckedLikeTheCommandLine() throws {
        let (text, path) = try error("watch:\n  settle: soon\n")
        #expect(
            text
                == "config '\(path)' line 2, column 11: invalid value 'soon' for 'watch.settle': expected a duration like 200ms, 2s, 1m or 1h"
        )
    }

    @Test func aBadValueInAnotherRolesSectionIsStillAnError() throws {
        let (text, path) = try error("chef:\n  jobs: 0\n")
        #expect(
            text
                == "config '\(path)' line 2, column 9: invalid value '0' for 'chef.jobs': out of range; expected 1…1024"
        )
    }

    @Test func aListWhereOneValueBelongsIsRefused() throws {
        let (text, path) = try error("watch:\n  settle: [1s, 2s]\n")
        #expect(text == "config '\(path)' line 2, column 11: 'watch.settle' takes one DURATION, not a list")
    }

    @Test func aMapWhereAValueBelongsIsRefused() throws {
        let (text, path) = try error("watch:\n  ignore: {a: 1}\n")
        #expect(text == "config '\(path)' line 2, column 11: 'watch.ignore' takes a GLOB or a list of them, not a map")
    }

    @Test func aSectionMustBeAMap() throws {
        let (text, path) = try error("watch: 5\n")
        #expect(text == "config '\(path)' line 1, column 8: section 'watch' must be a map of settings, found a value")
    }

    @Test func aFlagTakesTrueOrFalse() throws {
        let (text, path) = try error("watch:\n  print: maybe\n")
        #expect(
            text
                == "config '\(path)' line 2, column 10: invalid value 'maybe' for 'watch.print': expected true or false"
        )
    }

    @Test func aBadEnvironmentValueNamesTheVariable() throws {
        let scratch = try Scratch()
        #expect(
            message(resolve(["."], environment: ["CP_WATCH_SETTLE": "x"], in: scratch))
                == "environment variable CP_WATCH_SETTLE: invalid value 'x' for 'watch.settle': expected a duration like 200ms, 2s, 1m or 1h"
        )
    }

    @Test func unknownEnvironmentVariablesAreIgnored() throws {
        let scratch = try Scratch()
        #expect(message(resolve(["."], environment: ["CP_TASK": "latex", "CP_WATCH_FROB": "1"], in: scratch)) == nil)
    }
}

@Suite struct NATSSettingsTests {
    @Test func natsOptionsComeFromTheSettings() throws {
        let scratch = try Scratch()
        try scratch.write("cp.yaml", "nats:\n  url: [nats://a:1, tls://b:2]\n  ca: /etc/ca.pem\n")
        let settings = try resolve(["--nats-creds", "/k/user.creds", "."], in: scratch).get()
        let options = NATSOptions(settings: settings, name: "watch-pod1")
        #expect(options.urls == ["nats://a:1", "tls://b:2"])
        #expect(options.credentialsFile == "/k/user.creds")
        #expect(options.caFile == "/etc/ca.pem")
        #expect(options.name == "watch-pod1")
        let defaults = NATSOptions(settings: try resolve(["."], in: try Scratch()).get(), name: "w")
        #expect(defaults.urls == ["nats://127.0.0.1:4222"] && defaults.caFile == nil)
    }
}
