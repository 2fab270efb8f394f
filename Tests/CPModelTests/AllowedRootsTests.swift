import Foundation
import Testing

@testable import CPModel

struct AllowedRootsTests {
    @Test func aRootMustBeAnAllowedDirectoryOrInsideOneWithLinksResolved() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cp-allow-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        for directory in ["a/inside", "ab", "b"] {
            try FileManager.default.createDirectory(atPath: base + "/" + directory, withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(atPath: base + "/a/out", withDestinationPath: base + "/b")
        try FileManager.default.createSymbolicLink(atPath: base + "/link-to-a", withDestinationPath: base + "/a")
        let allowed = AllowedRoots([base + "/a"])
        #expect(allowed.allows(base + "/a") && allowed.allows(base + "/a/inside") && allowed.allows(base + "/a/"))
        #expect(allowed.allows(base + "/link-to-a/inside"))  // a way in through a link
        #expect(!allowed.allows(base + "/ab"))  // a name that only starts the same
        #expect(!allowed.allows(base + "/a/out"))  // a way out through a link
        #expect(!allowed.allows(base + "/a/../b") && !allowed.allows("/") && !allowed.allows("/etc"))
        #expect(allowed.refusal("/etc").hasPrefix("'/etc' is outside the directories this role may work in (--allow "))
        #expect(AllowedRoots([]).allows("/"))  // none given: any
        #expect(AllowedRoots(["/"]).allows("/etc"))
    }

    /// Inside is decided byte for byte: a canonically equivalent name is another directory,
    /// and a `/` followed by a combining mark still ends the root's name.
    @Test func insideIsDecidedByteForByte() {
        #expect(PathSyntax.isInside("/x/e\u{301}/y", "/x/e\u{301}") && PathSyntax.isInside("/x/a", "/x/a/"))
        #expect(!PathSyntax.isInside("/x/\u{e9}/y", "/x/e\u{301}"))  // "é" composed is not "é" decomposed
        #expect(PathSyntax.isInside("/x/a/\u{301}b", "/x/a") && !PathSyntax.isInside("/x/ab", "/x/a"))
        #expect(PathSyntax.isInside("/etc", "/") && !PathSyntax.isInside("/etc", "/x"))
        #expect(!AllowedRoots(["/x/e\u{301}"]).allows("/x/\u{e9}"))
    }
}
