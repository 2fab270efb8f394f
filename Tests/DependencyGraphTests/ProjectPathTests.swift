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

    /// A `/` followed by a combining mark is one Swift character but a separator to the
    /// kernel: paths are split at bytes, so such a path can neither escape nor pass for relative
    /// (schemathesis sent one).
    @Test func aSlashFollowedByACombiningMarkIsStillASeparator() {
        #expect(ProjectPath.normalize("../\u{301}x") == nil)  // the kernel sees `..` then `\u{301}x`
        #expect(ProjectPath.normalize("a/../../\u{301}x") == nil)
        #expect(ProjectPath.normalize("/\u{32e}etc/passwd") == nil)  // absolute
        #expect(ProjectPath.normalize("a/\u{301}b") == "a/\u{301}b")  // a name that starts with a mark
        #expect(ProjectPath.normalize("a/./\u{301}b/..") == "a")
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
