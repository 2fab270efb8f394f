import CPCommand
import Foundation
import TestSupport
import Testing

/// The `cp` binary built beside this test bundle.
let cpBinary: String = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    return bundle.appendingPathComponent("cp").path
}()

/// Runs the built `cp` (or a symlink to it) and returns status, stdout and stderr.
func cp(
    _ arguments: [String], program: String = cpBinary, in directory: String? = nil,
    environment: [String: String]? = nil, deadline: Duration = .seconds(20)
) async throws -> (status: Int32, stdout: String, stderr: String) {
    guard let directory else {
        return try await runProcess(program, arguments, deadline: deadline, environment: environment)
    }
    // Run from `directory` without teaching the process helper about working directories.
    return try await runProcess(
        "/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", directory, program] + arguments,
        deadline: deadline, environment: environment)
}

@Suite struct TopLevelEndToEndTests {
    @Test func versionNamesTheFourCLibraries() async throws {
        let result = try await cp(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("cp \(CommandLineTool.version) (ComputePods)\n"))
        for library in ["libnats 3.", "libssh 0.", "libcurl/", "OpenSSL 3."] {
            #expect(result.stdout.contains(library), "\(library) missing from --version")
        }
        #expect(result.stderr.isEmpty)
    }

    @Test func theBinaryLinksTheFourCLibraries() async throws {
        let result = try await runProcess("/usr/bin/ldd", [cpBinary])
        for library in ["libnats", "libssh.so", "libcurl", "libcrypto"] {
            #expect(result.stdout.contains(library), "ldd does not list \(library)")
        }
    }

    @Test func listPrintsEveryRoleOnePerLine() async throws {
        let result = try await cp(["--list"])
        #expect(result.status == 0)
        #expect(result.stdout == Applets.all.map { $0.name + "\n" }.joined())
    }

    @Test func helpGoesToStdoutAndBareCpToStderr() async throws {
        let help = try await cp(["--help"])
        #expect(help.status == 0)
        #expect(help.stderr.isEmpty)
        for applet in Applets.all { #expect(help.stdout.contains("  \(applet.name) ")) }
        let bare = try await cp([])
        #expect(bare.status == 2)
        #expect(bare.stdout.isEmpty)
        #expect(bare.stderr == help.stdout)
    }

    @Test func helpForARoleAndRoleHelpAgree() async throws {
        let viaHelp = try await cp(["help", "graph"])
        let viaFlag = try await cp(["graph", "--help"])
        #expect(viaHelp.status == 0 && viaFlag.status == 0)
        #expect(viaHelp.stdout == viaFlag.stdout)
        #expect(viaHelp.stdout.hasPrefix("usage: cp graph [dot|json|mermaid] [COMMAND] [options]"))
        let verb = try await cp(["ctrl", "project", "add", "--help"])
        #expect(verb.stdout.hasPrefix("usage: cp ctrl project add [options] DIR\n"))
    }

    @Test func aTypoOfARoleGetsDidYouMean() async throws {
        let result = try await cp(["wach"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "cp: unknown command 'wach'; did you mean 'watch'?\n")
        let help = try await cp(["help", "grpah"])
        #expect(help.status == 2)
        #expect(help.stderr == "cp: no help for 'grpah': it is not a role; did you mean 'graph'?\n")
    }

    @Test func upRefusesWhatItCannotBuildInOneLine() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("empty"), withIntermediateDirectories: true)
        try "x".write(toFile: scratch.file("empty/notes.txt"), atomically: true, encoding: .utf8)
        let empty = try await cp(["up", "--once", scratch.file("empty")])
        #expect(empty.status == 2)
        #expect(
            empty.stderr
                == "cp: up: '\(scratch.file("empty"))' holds no project or tasks file (*.pyml, *.tyml), no LaTeX document (a top-level .tex with \\documentclass) and no C program (a .c defining main): nothing to build\n"
        )
        let missing = try await cp(["up", scratch.file("nowhere")])
        #expect(missing.status == 2)
        #expect(missing.stderr == "cp: up: '\(scratch.file("nowhere"))' does not exist\n")
        let both = try await cp(["up", "--once", "--no-build", scratch.file("empty")])
        #expect(both.status == 2)
        #expect(both.stderr == "cp: up: --once builds once and exits; --no-build does not build: give one of them\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("empty/.cp")), "nothing is written on a refusal")
    }

    @Test func watchWithNoNATSServerSaysHowToGoOn() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let port = try freeLoopbackPort()
        let result = try await cp(["watch", "--nats-url", "nats://127.0.0.1:\(port)", scratch.path])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("cp: watch: no NATS server at nats://127.0.0.1:\(port) ("), "\(result.stderr)")
        #expect(
            result.stderr.hasSuffix(
                "give --nats-url URL, print the changes with --print, or run everything with 'cp up \(scratch.path)'\n")
        )
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func aUsageErrorExitsTwoWithOneLine() async throws {
        let result = try await cp(["watch", "--settle", "soon", "."])
        #expect(result.status == 2)
        #expect(
            result.stderr
                == "cp: watch: invalid value 'soon' for '--settle': expected a duration like 200ms, 2s, 1m or 1h\n")
        let verb = try await cp(["ctrl", "projetcs"])
        #expect(verb.stderr == "cp: ctrl: unknown command 'projetcs' for 'cp ctrl'; did you mean 'projects'?\n")
    }
}

@Suite struct HandOffEndToEndTests {
    @Test func aCopyCommandLineIsHandedToCoreutils() async throws {
        let scratch = try TemporaryDirectory()
        let source = scratch.file("source.txt")
        try "hello\n".write(toFile: source, atomically: true, encoding: .utf8)
        let result = try await cp([source, scratch.file("copy.txt")])
        #expect(result.status == 0)
        #expect(try String(contentsOfFile: scratch.file("copy.txt"), encoding: .utf8) == "hello\n")
    }

    @Test func recursiveCopiesWork() async throws {
        let scratch = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: scratch.file("tree/sub"), withIntermediateDirectories: true)
        try "x".write(toFile: scratch.file("tree/sub/f"), atomically: true, encoding: .utf8)
        let result = try await cp(["-r", scratch.file("tree"), scratch.file("copy")])
        #expect(result.status == 0)
        #expect(FileManager.default.fileExists(atPath: scratch.file("copy/sub/f")))
    }

    @Test func coreutilsErrorsAndStatusPassThrough() async throws {
        let result = try await cp(["/nonexistent/source", "/tmp/never-written"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("cp: cannot stat '/nonexistent/source'"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written"))
    }

    @Test func coreutilsOwnOptionsReachIt() async throws {
        let result = try await cp(["--version", "x"])  // two words: not ours, so coreutils answers
        #expect(result.status == 0)
        #expect(result.stdout.contains("GNU coreutils"))
        #expect(!result.stdout.contains("ComputePods"))
    }
}

@Suite struct InvocationNameEndToEndTests {
    @Test func symlinkNamesRunTheirRoles() async throws {
        let scratch = try TemporaryDirectory()
        let roles = ["inotify2nats": "watch", "majordomo": "majordomo", "cpchef": "chef", "cpctrl": "ctrl"]
        for (name, role) in roles {
            let link = scratch.file(name)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: cpBinary)
            let result = try await cp(["--help"], program: link)
            #expect(result.status == 0)
            #expect(result.stdout.hasPrefix("usage: cp \(role)"), "\(name) --help")
        }
        let watch = try await cp([], program: scratch.file("inotify2nats"))
        #expect(watch.status == 2)
        #expect(watch.stderr == "cp: watch: missing DIR… for 'cp watch'; see 'cp watch --help'\n")
    }

    @Test func anotherNameNeverHandsOffToCoreutils() async throws {
        let scratch = try TemporaryDirectory()
        let link = scratch.file("computepods")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: cpBinary)
        try "x".write(toFile: scratch.file("a"), atomically: true, encoding: .utf8)
        let result = try await cp([scratch.file("a"), scratch.file("b")], program: link)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("cp: unknown command '\(scratch.file("a"))'"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("b")))
    }
}

@Suite struct ConfigurationEndToEndTests {
    @Test func aBrokenConfigNamesFileLineAndColumnAndExitsTwo() async throws {
        let scratch = try TemporaryDirectory()
        try "watch:\n  settle: 1s\n  ignore: [a\n".write(
            toFile: scratch.file("cp.yaml"), atomically: true, encoding: .utf8)
        let result = try await cp(["watch", "."], in: scratch.path)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("cp: watch: config '\(scratch.path)/cp.yaml' line 4, column 1: "))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test func showConfigAppliesThePrecedence() async throws {
        let scratch = try TemporaryDirectory()
        try "watch:\n  settle: 1s\n  pod: filepod\n".write(
            toFile: scratch.file("cp.yaml"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["CP_WATCH_SETTLE"] = "5s"
        environment["CP_WATCH_STATE"] = "/var/tmp/state"
        let result = try await cp(
            ["watch", "--show-config", "--pod", "linepod", "."], in: scratch.path, environment: environment)
        #expect(result.status == 0)
        #expect(result.stdout.contains("# configuration file: \(scratch.path)/cp.yaml\n"))
        #expect(result.stdout.contains("watch.pod = linepod  # command line\n"))
        #expect(result.stdout.contains("watch.settle = 1s  # config '\(scratch.path)/cp.yaml' line 2, column 11\n"))
        #expect(result.stdout.contains("watch.state = /var/tmp/state  # environment CP_WATCH_STATE\n"))
        #expect(result.stdout.contains("nats.url = nats://127.0.0.1:4222  # default\n"))
    }
}
