import RulesManager
import Testing

/// Artefact paths: relative, normalised, and only what a file on Linux can be called.
@Suite struct ProjectPathTests {
    @Test func cleanPathsStayAndOthersAreNormalisedOrRefused() {
        #expect(ProjectPath.normalize("chapters/intro.tex") == "chapters/intro.tex")
        #expect(ProjectPath.normalize("./chapters//../intro.tex") == "intro.tex")
        #expect(ProjectPath.normalize("/etc/passwd") == nil)
        #expect(ProjectPath.normalize("../escape.txt") == nil)
        #expect(ProjectPath.normalize("") == nil)
    }

    @Test func aPathNoFileCanHaveIsRefused() {
        #expect(ProjectPath.normalize("chapters/a\u{0}b.tex") == nil)
        #expect(ProjectPath.normalize(String(repeating: "a/", count: 10_000) + "x") == nil)
        #expect(ProjectPath.normalize(String(repeating: "n", count: 256)) == nil)
        #expect(ProjectPath.normalize("./" + String(repeating: "n", count: 256)) == nil)
        #expect(ProjectPath.normalize(String(repeating: "n", count: 255)) != nil)
        let longest = String(repeating: String(repeating: "d", count: 254) + "/", count: 16) + "f"
        #expect(longest.utf8.count == 4081 && ProjectPath.normalize(longest) == longest)
    }
}
