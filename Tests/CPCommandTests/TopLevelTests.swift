import Testing

@testable import CPCommand

@Suite struct TopLevelTests {
    private func decide(_ arguments: [String], as name: String = "cp") -> TopLevelAction {
        TopLevelAction.decide(arguments, invokedAs: name)
    }

    @Test func rolesAndTheirArguments() {
        #expect(decide(["watch", "--print", "."]) == .applet("watch", ["--print", "."]))
        #expect(decide(["ctrl", "project", "add", "x"]) == .applet("ctrl", ["project", "add", "x"]))
    }

    @Test func symlinkNamesSelectTheirRole() {
        #expect(decide(["--settle", "1s", "."], as: "inotify2nats") == .applet("watch", ["--settle", "1s", "."]))
        #expect(decide([], as: "cpctrl") == .applet("ctrl", []))
        #expect(decide(["--help"], as: "cpchef") == .applet("chef", ["--help"]))
        #expect(decide(["serve"], as: "majordomo") == .applet("majordomo", ["serve"]))
    }

    @Test func ownWords() {
        #expect(decide([]) == .missingCommand)
        #expect(decide(["--help"]) == .overview)
        #expect(decide(["-h"]) == .overview)
        #expect(decide(["help"]) == .overview)
        #expect(decide(["--version"]) == .version)
        #expect(decide(["--list"]) == .list)
        #expect(decide(["help", "graph"]) == .helpFor("graph"))
        #expect(decide(["help", "grpah"]) == .unknownHelpTopic("grpah", suggestion: "graph"))
        #expect(decide(["help", "zzz"]) == .unknownHelpTopic("zzz", suggestion: nil))
    }

    @Test func aLoneWordNearARoleIsATypo() {
        #expect(decide(["wach"]) == .didYouMean("wach", suggestion: "watch"))
        #expect(decide(["majordmo"]) == .didYouMean("majordmo", suggestion: "majordomo"))
        #expect(decide(["hlep"]) == .didYouMean("hlep", suggestion: "help"))
    }

    @Test func everythingElseGoesToTheSystemCp() {
        #expect(decide(["-r", "a", "b"]) == .handOff(["-r", "a", "b"]))
        #expect(decide(["wach", "backup"]) == .handOff(["wach", "backup"]))
        #expect(decide(["report.pdf"]) == .handOff(["report.pdf"]))
        #expect(decide(["--verbose", "a", "b"]) == .handOff(["--verbose", "a", "b"]))
        #expect(decide(["--help", "x"]) == .handOff(["--help", "x"]))
        #expect(decide(["-i"]) == .handOff(["-i"]))
    }

    @Test func anotherNameNeverHandsOff() {
        #expect(decide(["-r", "a", "b"], as: "computepods") == .unknownCommand("-r", suggestion: nil))
        #expect(decide(["wach", "x"], as: "cp-dev") == .unknownCommand("wach", suggestion: "watch"))
    }

    @Test func theHandOffNeverFindsItself() {
        #expect(SystemCopy.find(candidates: ["/nonexistent/cp", "/usr/bin/cp"], selfPath: "/usr/bin/cp") == nil)
        #expect(SystemCopy.find(candidates: ["/nonexistent/cp", "/usr/bin/cp"]) == "/usr/bin/cp")
        #expect(SystemCopy.find(candidates: ["/etc/passwd"]) == nil)
    }
}

@Suite struct TransferOutputTests {
    @Test func byteCountsReadLikeLs() {
        #expect(ProgressLine.bytes(0) == "0 B")
        #expect(ProgressLine.bytes(1023) == "1023 B")
        #expect(ProgressLine.bytes(1536) == "1.5 KiB")
        #expect(ProgressLine.bytes(512 * 1024 * 1024) == "512.0 MiB")
    }

    @Test func quietMeansNoProgressLine() {
        #expect(!TransferOutput(quiet: true).enabled)
        #expect(TransferOutput(quiet: true).progress(for: "x").update == nil)
    }
}
