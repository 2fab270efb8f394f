import Foundation
import RulesManager
import TestSupport
import Testing

/// A rule's `{{stage}}`: one private directory per task, given the project's directories
/// before the run and emptied into the project after it.
@Suite struct StageTests {
    @Test func eachTaskNameHasItsOwnStageInsideTheStagesDirectory() {
        #expect(Stage.path(task: "thesis") == ".cp/stage/thesis")
        #expect(Stage.path(task: "thesis-index.v2") == ".cp/stage/thesis-index.v2")
        #expect(Stage.path(task: "src/hello") == ".cp/stage/src+2Fhello")
        #expect(Stage.path(task: "src_hello") != Stage.path(task: "src/hello"))
        #expect(Stage.path(task: "a+2Fb") != Stage.path(task: "a/b"))
        // Nothing climbs out or hides: dots lead nowhere, an empty name is a name.
        #expect(Stage.path(task: "..") == ".cp/stage/+2E.")
        #expect(Stage.path(task: ".") == ".cp/stage/+2E")
        #expect(Stage.path(task: "") == ".cp/stage/+")
        #expect(Stage.path(task: "é") == ".cp/stage/+C3+A9")
    }

    @Test func preparingEmptiesTheStageAndMakesTheProjectsDirectoriesButNotHiddenOnes() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        _ = try scratch.write("p/chapters/parts/one.tex", "")
        _ = try scratch.write("p/figures/a.png", "")
        _ = try scratch.write("p/.git/objects/x", "")
        let root = scratch.file("p")
        let stage = Stage(directory: root, path: Stage.path(task: "doc"))
        _ = try scratch.write("p/" + stage.path + "/left.pdf", "from a run that was killed")
        try stage.prepare()
        let inside = try FileManager.default.subpathsOfDirectory(atPath: root + "/" + stage.path).sorted()
        #expect(inside == ["chapters", "chapters/parts", "figures"])
    }

    @Test func aSuccessMovesEveryFileAndAFailureKeepsTheDeclaredOutputs() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        _ = try scratch.write("p/doc.pdf", "last good")
        let root = scratch.file("p")
        let stage = Stage(directory: root, path: Stage.path(task: "doc"))
        try stage.prepare()
        let staged = root + "/" + stage.path
        _ = try scratch.write("p/" + stage.path + "/doc.pdf", "half")
        _ = try scratch.write("p/" + stage.path + "/doc.log", "! Undefined control sequence.")
        #expect(try stage.deliver(succeeded: false, outputs: ["doc.pdf"]) == ["doc.log"])
        #expect(try String(contentsOfFile: root + "/doc.pdf", encoding: .utf8) == "last good")
        #expect(try String(contentsOfFile: root + "/doc.log", encoding: .utf8) == "! Undefined control sequence.")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: staged).isEmpty)
        // A success: every file, one into a directory the project lost meanwhile.
        try stage.prepare()
        _ = try scratch.write("p/" + stage.path + "/doc.pdf", "whole")
        _ = try scratch.write("p/" + stage.path + "/gen/code.c", "int x;")
        #expect(try stage.deliver(succeeded: true, outputs: ["doc.pdf"]) == ["doc.pdf", "gen/code.c"])
        #expect(try String(contentsOfFile: root + "/doc.pdf", encoding: .utf8) == "whole")
        #expect(try String(contentsOfFile: root + "/gen/code.c", encoding: .utf8) == "int x;")
        #expect(stage.projectPath(of: stage.path + "/doc.aux") == "doc.aux")
        #expect(stage.projectPath(of: "doc.aux") == "doc.aux")
    }

    @Test func aFileThatCannotBeMovedIsOneClearError() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        _ = try scratch.write("p/out/keep", "")  // `out` is a directory: a file cannot replace it
        let root = scratch.file("p")
        let stage = Stage(directory: root, path: Stage.path(task: "t"))
        try stage.prepare()
        try FileManager.default.removeItem(atPath: root + "/" + stage.path + "/out")
        _ = try scratch.write("p/" + stage.path + "/out", "a file")
        do {
            try stage.deliver(succeeded: true, outputs: [])
            Issue.record("a file was moved over a directory")
        } catch {
            #expect(error.description.hasPrefix("cannot move 'out' out of the stage '.cp/stage/t': "), "\(error)")
        }
    }
}
