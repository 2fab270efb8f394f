import Testing

@testable import CPCommand

/// One row of the parser's table: argv in, parsed values or the exact message out.
struct ParserCase: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable {
        /// The command path, option values and positional values, each as text.
        case parsed(path: String, options: [String: [String]], positionals: [String: [String]])
        case help(path: String)
        case error(String)
    }

    let root: String
    let argv: [String]
    let expected: Expected

    init(_ root: String, _ argv: [String], _ expected: Expected) {
        self.root = root
        self.argv = argv
        self.expected = expected
    }

    var testDescription: String { "cp \(root) \(argv.joined(separator: " "))" }
}

/// A command with one option of every kind, so each rule is pinned once.
let demoCommand = CommandSpec(
    "demo", summary: "exercise the parser",
    options: [
        .value("port", short: "p", .integer(1...65535), metavar: "PORT", help: "a port"),
        .value("jobs", short: "j", .integer(1...64), metavar: "N", help: "jobs"),
        .value("offset", .integer(-100...100), metavar: "N", help: "a signed number"),
        .value("settle", .duration, metavar: "DURATION", default: "200ms", help: "a duration"),
        .value("listen", .hostPort, metavar: "HOST:PORT", help: "an endpoint"),
        .value("url", .url(schemes: ["nats"]), metavar: "URL", help: "a URL"),
        .value("file", short: "f", .path, metavar: "FILE", help: "a path"),
        .value("glob", short: "g", .string, metavar: "GLOB", repeatable: true, help: "repeatable"),
        .value("format", .choice(["dot", "json", "mermaid"]), metavar: "FORMAT", help: "a choice"),
        .value("domain", .token, metavar: "NAME", help: "a subject token"),
        .flag("print", short: "P", help: "a flag"),
        .flag("all", short: "a", help: "another flag"),
    ],
    positionals: [PositionalSpec("DIR", .path, .zeroOrMore, help: "directories")])

private func ok(_ path: String, _ options: [String: [String]] = [:], _ positionals: [String: [String]] = [:])
    -> ParserCase.Expected
{
    .parsed(path: path, options: options, positionals: positionals)
}

let parserCases: [ParserCase] = [
    // Long options, both spellings, and short options with and without a space.
    ParserCase("demo", ["--port", "80"], ok("demo", ["port": ["80"]])),
    ParserCase("demo", ["--port=80"], ok("demo", ["port": ["80"]])),
    ParserCase("demo", ["-p", "80"], ok("demo", ["port": ["80"]])),
    ParserCase("demo", ["-p80"], ok("demo", ["port": ["80"]])),
    // Clusters of short flags, ending in one that takes a value.
    ParserCase("demo", ["-aP"], ok("demo", ["all": ["true"], "print": ["true"]])),
    ParserCase("demo", ["-aPp", "8"], ok("demo", ["all": ["true"], "print": ["true"], "port": ["8"]])),
    ParserCase("demo", ["-aPp8"], ok("demo", ["all": ["true"], "print": ["true"], "port": ["8"]])),
    // Unknown options, with and without a suggestion.
    ParserCase("demo", ["--prot", "80"], .error("unknown option '--prot'; did you mean '--port'?")),
    ParserCase("demo", ["--zzz"], .error("unknown option '--zzz'; see 'cp demo --help'")),
    ParserCase("demo", ["-x"], .error("unknown option '-x'; see 'cp demo --help'")),
    ParserCase("demo", ["-ax"], .error("unknown option '-x' in '-ax'; see 'cp demo --help'")),
    // Missing and unwanted values.
    ParserCase("demo", ["--port"], .error("option '--port' needs a value (PORT), as in '--port 1'")),
    ParserCase("demo", ["--port", "--all"], .error("option '--port' needs a value (PORT), as in '--port 1'")),
    ParserCase("demo", ["-f"], .error("option '-f' needs a value (FILE), as in '-f FILE'")),
    ParserCase("demo", ["--print=yes"], .error("option '--print' takes no value")),
    // Integers and their ranges.
    ParserCase("demo", ["--port", "abc"], .error("invalid value 'abc' for '--port': expected an integer")),
    ParserCase("demo", ["--port", "0"], .error("invalid value 0 for '--port': out of range; expected 1…65535")),
    ParserCase("demo", ["--offset", "-5"], ok("demo", ["offset": ["-5"]])),
    ParserCase("demo", ["-j", "65"], .error("invalid value 65 for '-j': out of range; expected 1…64")),
    // Durations.
    ParserCase("demo", ["--settle", "200ms"], ok("demo", ["settle": ["200ms"]])),
    ParserCase("demo", ["--settle", "2s"], ok("demo", ["settle": ["2s"]])),
    ParserCase("demo", ["--settle", "1m30s"], ok("demo", ["settle": ["1m30s"]])),
    ParserCase("demo", ["--settle", "1.5s"], ok("demo", ["settle": ["1500ms"]])),
    ParserCase("demo", ["--settle", "2h"], ok("demo", ["settle": ["2h"]])),
    ParserCase(
        "demo", ["--settle", "5"],
        .error("invalid value '5' for '--settle': a duration needs a unit: ms, s, m or h (as in 2s)")),
    ParserCase(
        "demo", ["--settle", "5d"], .error("invalid value '5d' for '--settle': unknown unit 'd'; use ms, s, m or h")),
    ParserCase(
        "demo", ["--settle", "fast"],
        .error("invalid value 'fast' for '--settle': expected a duration like 200ms, 2s, 1m or 1h")),
    // Host and port.
    ParserCase("demo", ["--listen", "127.0.0.1:8420"], ok("demo", ["listen": ["127.0.0.1:8420"]])),
    ParserCase("demo", ["--listen", "[::1]:80"], ok("demo", ["listen": ["[::1]:80"]])),
    ParserCase(
        "demo", ["--listen", "localhost"],
        .error("invalid value 'localhost' for '--listen': expected HOST:PORT, such as 127.0.0.1:8420")),
    ParserCase(
        "demo", ["--listen", "h:99999"],
        .error("invalid value 'h:99999' for '--listen': port '99999' is not a number in 0…65535")),
    // URLs.
    ParserCase("demo", ["--url", "nats://h:4222"], ok("demo", ["url": ["nats://h:4222"]])),
    ParserCase(
        "demo", ["--url", "http://h"],
        .error("invalid value 'http://h' for '--url': unsupported scheme 'http'; expected nats://")),
    ParserCase(
        "demo", ["--url=h:4222"],
        .error("invalid value 'h:4222' for '--url': expected a URL such as nats://HOST:PORT")),
    // Paths expand a leading ~/.
    ParserCase("demo", ["--file", "~/notes.tex"], ok("demo", ["file": ["/home/u/notes.tex"]])),
    ParserCase("demo", ["--file", "a~/b"], ok("demo", ["file": ["a~/b"]])),
    // Repeatable options collect; others keep the last value.
    ParserCase("demo", ["-g", "a", "--glob", "b", "-gc"], ok("demo", ["glob": ["a", "b", "c"]])),
    ParserCase("demo", ["--port", "1", "--port", "2"], ok("demo", ["port": ["2"]])),
    // Choices.
    ParserCase("demo", ["--format", "json"], ok("demo", ["format": ["json"]])),
    ParserCase(
        "demo", ["--format", "svg"],
        .error("invalid value 'svg' for '--format': expected one of dot, json, mermaid")),
    ParserCase(
        "demo", ["--format", "jsno"],
        .error("invalid value 'jsno' for '--format': expected one of dot, json, mermaid; did you mean 'json'?")),
    // Subject tokens.
    ParserCase("demo", ["--domain", "hub-2_a"], ok("demo", ["domain": ["hub-2_a"]])),
    ParserCase(
        "demo", ["--domain", "a.b"],
        .error("invalid value 'a.b' for '--domain': expected a name of letters, digits, '-' and '_'")),
    ParserCase(
        "demo", ["--domain", "hub>"],
        .error("invalid value 'hub>' for '--domain': expected a name of letters, digits, '-' and '_'")),
    // `--` ends options; `-` is an argument.
    ParserCase("demo", ["--", "--port", "x"], ok("demo", [:], ["DIR": ["--port", "x"]])),
    ParserCase("demo", ["-", "d"], ok("demo", [:], ["DIR": ["-", "d"]])),
    ParserCase("demo", ["a", "--all", "b"], ok("demo", ["all": ["true"]], ["DIR": ["a", "b"]])),
    // Global options and help, which wins over any error.
    ParserCase("demo", ["-vv", "-q"], ok("demo", ["verbose": ["true", "true"], "quiet": ["true"]])),
    ParserCase("demo", ["--config", "~/cp.yaml"], ok("demo", ["config": ["/home/u/cp.yaml"]])),
    ParserCase("demo", ["--help", "--bogus"], .help(path: "demo")),
    ParserCase("demo", ["--bogus", "--help"], .help(path: "demo")),
    ParserCase("demo", ["-ah"], .help(path: "demo")),
    // Nested verbs.
    ParserCase("ctrl", ["project", "add", "dir"], ok("ctrl project add", [:], ["DIR": ["dir"]])),
    ParserCase("ctrl", ["projects"], ok("ctrl projects")),
    ParserCase("ctrl", ["project", "--help"], .help(path: "ctrl project")),
    ParserCase("ctrl", ["projetcs"], .error("unknown command 'projetcs' for 'cp ctrl'; did you mean 'projects'?")),
    ParserCase(
        "ctrl", ["frob"],
        .error(
            "unknown command 'frob' for 'cp ctrl'; expected one of: projects, project, targets, definition, build, status, log, cancel, monitor, chefs, graph, why"
        )),
    ParserCase(
        "ctrl", [],
        .error(
            "'cp ctrl' needs a command: one of projects, project, targets, definition, build, status, log, cancel, monitor, chefs, graph, why; see 'cp ctrl --help'"
        )),
    ParserCase(
        "ctrl", ["project"],
        .error("'cp ctrl project' needs a command: one of add, remove; see 'cp ctrl project --help'")),
    ParserCase(
        "ctrl", ["project", "add"], .error("missing DIR for 'cp ctrl project add'; see 'cp ctrl project add --help'")),
    ParserCase(
        "ctrl", ["project", "add", "a", "b"],
        .error("unexpected argument 'b' for 'cp ctrl project add'; see 'cp ctrl project add --help'")),
    ParserCase(
        "ctrl", ["--url", "http://h:1", "build", "t", "-p", "proj"],
        ok("ctrl build", ["url": ["http://h:1"], "project": ["proj"]], ["TARGET": ["t"]])),
    ParserCase(
        "ctrl", ["-p", "proj", "build", "t"], .error("option '-p' belongs to 'cp ctrl build'; put it after 'build'")),
    ParserCase("ctrl", ["log", "7"], ok("ctrl log", [:], ["BUILD": ["7"]])),
    ParserCase("ctrl", ["log", "7", "latex"], ok("ctrl log", [:], ["BUILD": ["7"], "TASK": ["latex"]])),
    ParserCase("ctrl", ["status"], ok("ctrl status")),
    // Option words and the default verb.
    ParserCase("graph", ["dot", "export"], ok("graph export", ["format": ["dot"]])),
    ParserCase("graph", ["export", "--format", "dot"], ok("graph export", ["format": ["dot"]])),
    ParserCase("graph", ["export", "mermaid"], ok("graph export", ["format": ["mermaid"]])),
    ParserCase("graph", ["json"], ok("graph export", ["format": ["json"]])),
    ParserCase("graph", [], ok("graph export")),
    ParserCase("graph", ["why", "thesis.pdf"], ok("graph why", [:], ["PATH": ["thesis.pdf"]])),
    ParserCase("graph", ["build", "-j", "3", "x", "y"], ok("graph build", ["jobs": ["3"]], ["TARGET": ["x", "y"]])),
    ParserCase("graph", ["build", "--", "dot"], ok("graph build", [:], ["TARGET": ["dot"]])),
    ParserCase(
        "graph", ["frobnicate"],
        .error(
            "unknown command 'frobnicate' for 'cp graph'; expected one of: export, plan, cycles, tasks, why, check, build"
        )),
    // A variadic positional followed by a fixed one; verb-level short options.
    ParserCase("sftp", ["put", "a", "b", "h:/x"], ok("sftp put", [:], ["LOCAL": ["a", "b"], "REMOTE": ["h:/x"]])),
    ParserCase("sftp", ["put", "h:/x"], .error("missing LOCAL… REMOTE for 'cp sftp put'; see 'cp sftp put --help'")),
    ParserCase("sftp", ["mkdir", "-p", "h:/x"], ok("sftp mkdir", ["parents": ["true"]], ["REMOTE": ["h:/x"]])),
    ParserCase(
        "sftp", ["get", "-rp", "--resume", "h:/a", "."],
        ok(
            "sftp get", ["recursive": ["true"], "preserve": ["true"], "resume": ["true"]],
            ["REMOTE": ["h:/a"], "LOCAL": ["."]])),
    ParserCase(
        "sftp", ["-i", "k", "ls", "-l", "h:/"],
        ok("sftp ls", ["identity": ["k"], "long": ["true"]], ["REMOTE": ["h:/"]])),
    ParserCase("watch", ["--settle=1s", "a", "b"], ok("watch", ["settle": ["1s"]], ["DIR": ["a", "b"]])),
    ParserCase(
        "watch", ["--nats-url", "tls://hub:4222", "--nats-url", "nats://b:4222", "."],
        ok("watch", ["nats-url": ["tls://hub:4222", "nats://b:4222"]], ["DIR": ["."]])),
]

@Suite struct ArgumentParserTests {
    static func root(_ name: String) -> CommandSpec {
        name == "demo" ? demoCommand : Applets.named(name)!.command
    }

    @Test(arguments: parserCases)
    func parsesTheTable(_ row: ParserCase) {
        let parser = ArgumentParser(globalOptions: CommonOptions.global, home: "/home/u")
        let outcome = parser.parse(row.argv, for: Self.root(row.root))
        switch (row.expected, outcome) {
        case (.parsed(let path, let options, let positionals), .success(let parsed)):
            #expect(!parsed.helpRequested)
            #expect(parsed.path.joined(separator: " ") == path)
            #expect(parsed.options.mapValues { $0.map(\.description) } == options)
            #expect(parsed.positionals.mapValues { $0.map(\.description) } == positionals)
        case (.help(let path), .success(let parsed)):
            #expect(parsed.helpRequested)
            #expect(parsed.path.joined(separator: " ") == path)
        case (.error(let message), .failure(let error)):
            #expect(error.message == message)
        case (_, .success(let parsed)):
            Issue.record("expected \(row.expected), parsed \(parsed.path) \(parsed.options)")
        case (_, .failure(let error)):
            Issue.record("expected \(row.expected), failed: \(error.message)")
        }
    }

    @Test func tableHasAtLeastFortyCases() {
        #expect(parserCases.count >= 40)
    }

    @Test func typedAccessorsReturnTheParsedValues() throws {
        let parser = ArgumentParser(globalOptions: CommonOptions.global, home: nil)
        let parsed = try parser.parse(["--settle", "1m", "--listen", "0.0.0.0:0", "-j", "4", "-P"], for: demoCommand)
            .get()
        #expect(parsed.value("settle")?.duration == .seconds(60))
        #expect(parsed.value("listen")?.hostPort == HostPort(host: "0.0.0.0", port: 0))
        #expect(parsed.value("jobs")?.integer == 4)
        #expect(parsed.flag("print"))
        #expect(!parsed.flag("all"))
    }
}
