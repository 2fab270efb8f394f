import FSWatcher
import Testing

/// One row of the `IgnoreRules.verdict` table.
struct VerdictCase: Sendable, CustomTestStringConvertible {
    let patterns: [String]
    let base: String
    let path: String
    let isDirectory: Bool
    let expected: Bool?

    init(_ patterns: [String], base: String = "", _ path: String, dir isDirectory: Bool = false, _ expected: Bool?) {
        self.patterns = patterns
        self.base = base
        self.path = path
        self.isDirectory = isDirectory
        self.expected = expected
    }

    var testDescription: String {
        let shownPath = path.count > 40 ? String(path.prefix(40)) + "…" : path
        let kind = isDirectory ? "dir" : "file"
        return "\(patterns) base '\(base)': \(kind) '\(shownPath)' → \(expected.map(String.init) ?? "nil")"
    }
}

/// A path that makes naive backtracking matchers explode.
private let manyAs = String(repeating: "a", count: 300)
private let deepAs = Array(repeating: "a", count: 60).joined(separator: "/")

private let verdictCases: [VerdictCase] = [
    // `*` and basename matching at any depth
    .init(["*.log"], "a.log", true),
    .init(["*.log"], "x/y/a.log", true),
    .init(["*.log"], "a.txt", nil),
    .init(["*.log"], "a.log", dir: true, true),
    .init(["*.log"], "a.log.txt", nil),
    .init(["*"], ".hidden", true),
    .init(["/x/a*b"], "x/a/b", nil),
    // Leading slash anchors
    .init(["/build"], "build", true),
    .init(["/build"], "build", dir: true, true),
    .init(["/build"], "src/build", nil),
    // Trailing slash: directories only
    .init(["build/"], "build", nil),
    .init(["build/"], "build", dir: true, true),
    .init(["build/"], "src/build", dir: true, true),
    .init(["/a/b/"], "a/b", dir: true, true),
    .init(["/a/b/"], "a/b", nil),
    // Middle slash anchors
    .init(["doc/*.txt"], "doc/a.txt", true),
    .init(["doc/*.txt"], "doc/sub/a.txt", nil),
    .init(["doc/*.txt"], "x/doc/a.txt", nil),
    // `**`
    .init(["**/foo"], "foo", true),
    .init(["**/foo"], "a/b/foo", dir: true, true),
    .init(["**/foo/bar"], "foo/bar", true),
    .init(["**/foo/bar"], "x/y/foo/bar", true),
    .init(["**/foo/bar"], "x/foo/baz", nil),
    .init(["a/**/b"], "a/b", true),
    .init(["a/**/b"], "a/x/b", true),
    .init(["a/**/b"], "a/x/y/b", true),
    .init(["a/**/b"], "a/x/y/c", nil),
    .init(["a/**/b"], "z/a/b", nil),
    .init(["abc/**"], "abc/x", true),
    .init(["abc/**"], "abc/x/y", dir: true, true),
    .init(["abc/**"], "abc", dir: true, nil),
    .init(["**"], "a/b/c", true),
    .init(["a**b"], "axyb", true),
    .init(["/a**b"], "a/x/b", nil),
    // Negation: the last matching rule wins
    .init(["*.log", "!keep.log"], "keep.log", false),
    .init(["*.log", "!keep.log"], "other.log", true),
    .init(["!keep.log", "*.log"], "keep.log", true),
    .init(["!x"], "x", false),
    // Escapes and comments
    .init(["\\#x"], "#x", true),
    .init(["#x"], "#x", nil),
    .init(["# comment", "", "   "], "# comment", nil),
    .init(["\\!x"], "!x", true),
    .init(["\\!x"], "x", nil),
    .init(["\\*"], "*", true),
    .init(["\\*"], "x", nil),
    .init(["\\[a]"], "[a]", true),
    .init(["foo\\"], "foo", nil),
    // Character classes and `?`
    .init(["[a-c]x"], "bx", true),
    .init(["[a-c]x"], "dx", nil),
    .init(["[!a-c]x"], "dx", true),
    .init(["[!a-c]x"], "ax", nil),
    .init(["[^a-c]x"], "dx", true),
    .init(["[abc]"], "b", true),
    .init(["[]a]"], "]", true),
    .init(["[a-]"], "-", true),
    .init(["[[:digit:]]x"], "5x", true),
    .init(["[[:digit:]]x"], "ax", nil),
    .init(["[a"], "[a", nil),
    .init(["[[:nope:]]"], "n", nil),
    .init(["[[:alpha:]x]"], "x", true),
    .init(["[[:]z"], "[z", true),
    .init(["[é]"], "é", true),
    .init(["?.c"], "a.c", true),
    .init(["?.c"], "ab.c", nil),
    .init(["?.c"], "é.c", true),
    .init(["/a?b"], "a/b", nil),
    // Trailing spaces
    .init(["foo   "], "foo", true),
    .init(["foo\\ "], "foo ", true),
    .init(["foo\\ "], "foo", nil),
    .init(["foo\\  "], "foo ", true),
    // Rules anchored in a subdirectory
    .init(["*.o"], base: "sub", "sub/a.o", true),
    .init(["*.o"], base: "sub", "sub/x/a.o", true),
    .init(["*.o"], base: "sub", "other/a.o", nil),
    .init(["*.o"], base: "sub", "subway/a.o", nil),
    .init(["/gen"], base: "sub", "sub/gen", true),
    .init(["/gen"], base: "sub", "gen", nil),
    .init(["/gen"], base: "sub", "sub/x/gen", nil),
    .init(["x/y"], base: "a/b", "a/b/x/y", true),
    .init(["sub"], base: "sub", "sub", dir: true, nil),
    // Pathological patterns: must answer quickly
    .init(["*a*a*a*a*a*a*a*a*a*a*b"], manyAs, nil),
    .init(["*a*a*a*a*a*a*a*a*a*a*a"], manyAs, true),
    .init(["**/a/**/a/**/a/**/a/**/b"], deepAs, nil),
    .init(["**/a/**/a/**/a/**/a/**/b"], deepAs + "/b", true),
]

@Test(arguments: verdictCases)
func verdict(_ testCase: VerdictCase) {
    let rules = IgnoreRules(patterns: testCase.patterns, base: testCase.base)
    #expect(rules.verdict(testCase.path, isDirectory: testCase.isDirectory) == testCase.expected)
}

/// One row of the `IgnoreStack.isIgnored` table, with global rules only.
struct StackCase: Sendable, CustomTestStringConvertible {
    let patterns: [String]
    let path: String
    let isDirectory: Bool
    let expected: Bool

    init(_ patterns: [String], _ path: String, dir isDirectory: Bool = false, _ expected: Bool) {
        self.patterns = patterns
        self.path = path
        self.isDirectory = isDirectory
        self.expected = expected
    }

    var testDescription: String {
        "\(patterns): \(isDirectory ? "dir" : "file") '\(path)' → \(expected)"
    }
}

private let stackCases: [StackCase] = [
    .init(["build/"], "build", false),
    .init(["build/"], "build", dir: true, true),
    .init(["build/"], "build/x.o", true),
    .init(["build/"], "src/build/x.o", true),
    .init(["node_modules"], "a/node_modules/b/c.js", true),
    .init(["abc/**", "!abc/keep"], "abc/keep", false),
    .init(["abc/**", "!abc/keep"], "abc/other", true),
    .init(["/build/", "!build/keep.txt"], "build/keep.txt", true),
    .init(["*.log"], "a/b.log/c", true),
    .init([], "anything", false),
]

@Test(arguments: stackCases)
func stackWithGlobalRules(_ testCase: StackCase) {
    let stack = IgnoreStack(global: IgnoreRules(patterns: testCase.patterns))
    #expect(stack.isIgnored(testCase.path, isDirectory: testCase.isDirectory) == testCase.expected)
}

@Test func textParsing() {
    let rules = IgnoreRules(text: "\u{FEFF}# comment\r\n*.log\r\n\n!keep.log   \r\n/out/\n")
    #expect(!rules.isEmpty)
    #expect(rules.verdict("a/b.log", isDirectory: false) == true)
    #expect(rules.verdict("keep.log", isDirectory: false) == false)
    #expect(rules.verdict("out", isDirectory: true) == true)
    #expect(rules.verdict("out", isDirectory: false) == nil)
    #expect(IgnoreRules(text: "# only a comment\n\n   \n").isEmpty)
    #expect(IgnoreRules(text: "").isEmpty)
    #expect(IgnoreRules(patterns: []).isEmpty)
}

@Test func nestedFileAppliesOnlyToItsSubtree() {
    var stack = IgnoreStack(global: IgnoreRules(patterns: []))
    stack.setFile(in: "sub", text: "*.o\n/gen\n")
    #expect(stack.isIgnored("sub/a.o", isDirectory: false))
    #expect(stack.isIgnored("sub/deep/a.o", isDirectory: false))
    #expect(!stack.isIgnored("a.o", isDirectory: false))
    #expect(!stack.isIgnored("other/a.o", isDirectory: false))
    #expect(stack.isIgnored("sub/gen/file.c", isDirectory: false))
    #expect(!stack.isIgnored("sub/x/gen", isDirectory: true))
    #expect(!stack.isIgnored("sub", isDirectory: true))
}

@Test func deeperFileOverridesShallowerOne() {
    var stack = IgnoreStack(global: IgnoreRules(patterns: []))
    stack.setFile(in: "", text: "*.tmp\n")
    stack.setFile(in: "sub/", text: "!keep.tmp\n")
    #expect(!stack.isIgnored("sub/keep.tmp", isDirectory: false))
    #expect(!stack.isIgnored("sub/x/keep.tmp", isDirectory: false))
    #expect(stack.isIgnored("keep.tmp", isDirectory: false))
    #expect(stack.isIgnored("other/keep.tmp", isDirectory: false))
    #expect(stack.isIgnored("sub/other.tmp", isDirectory: false))
}

@Test func fileOverridesGlobalRules() {
    var stack = IgnoreStack(global: IgnoreRules(patterns: ["*.log"]))
    stack.setFile(in: "", text: "!important.log")
    #expect(!stack.isIgnored("important.log", isDirectory: false))
    #expect(!stack.isIgnored("a/important.log", isDirectory: false))
    #expect(stack.isIgnored("a/other.log", isDirectory: false))
}

@Test func ignoredParentHidesChildrenDespiteNegation() {
    var stack = IgnoreStack(global: IgnoreRules(patterns: []))
    stack.setFile(in: "", text: "build/\n!build/keep.txt\n")
    stack.setFile(in: "build", text: "!keep.txt\n")
    #expect(stack.isIgnored("build", isDirectory: true))
    #expect(stack.isIgnored("build/keep.txt", isDirectory: false))
    #expect(stack.isIgnored("build/sub/keep.txt", isDirectory: false))
    #expect(!stack.isIgnored("keep.txt", isDirectory: false))
}

@Test func removeFile() {
    var stack = IgnoreStack(global: IgnoreRules(patterns: []))
    stack.setFile(in: "sub", text: "*.o")
    #expect(stack.isIgnored("sub/a.o", isDirectory: false))
    stack.removeFile(in: "sub")
    #expect(!stack.isIgnored("sub/a.o", isDirectory: false))
    stack.setFile(in: "sub", text: "*.o")
    stack.setFile(in: "sub", text: "")
    #expect(!stack.isIgnored("sub/a.o", isDirectory: false))
    stack.setFile(in: "sub", text: "*.o")
    stack.setFile(in: "sub", text: "*.c")
    #expect(!stack.isIgnored("sub/a.o", isDirectory: false))
    #expect(stack.isIgnored("sub/a.c", isDirectory: false))
}

@Test func setGlobal() {
    var stack = IgnoreStack(global: IgnoreRules(patterns: ["*.log"]))
    #expect(stack.isIgnored("a.log", isDirectory: false))
    stack.setGlobal(IgnoreRules(patterns: ["*.tmp"]))
    #expect(!stack.isIgnored("a.log", isDirectory: false))
    #expect(stack.isIgnored("a.tmp", isDirectory: false))
    stack.setGlobal(IgnoreRules(patterns: []))
    #expect(!stack.isIgnored("a.tmp", isDirectory: false))
}

/// Not a timing assertion: runs `isIgnored` over 100,000 generated paths with 10 rules and checks the
/// number of ignored paths against a count computed with plain string logic.
@Test func hundredThousandPaths() {
    let rules = IgnoreRules(patterns: [
        "*.log",
        "!f1*.log",
        "/d7/",
        "d4?/",
        "**/s3/*.txt",
        "*.tmp",
        "!/d1*/s2/*.tmp",
        "s6/",
        "f[0-4]*.swift",
        "d2/**",
    ])
    #expect(!rules.isEmpty)
    let stack = IgnoreStack(global: rules)
    let extensions = ["swift", "log", "tmp", "txt"]
    var ignored = 0
    var expected = 0
    for index in 0..<100_000 {
        let top = "d\(index % 50)"
        let middle = "s\(index % 7)"
        let name = "f\(index).\(extensions[index % 4])"
        if stack.isIgnored("\(top)/\(middle)/\(name)", isDirectory: false) {
            ignored += 1
        }
        let directoryIgnored = top == "d7" || top.hasPrefix("d4") && top.count == 3 || middle == "s6" || top == "d2"
        let fileIgnored: Bool
        switch extensions[index % 4] {
        case "log": fileIgnored = !name.hasPrefix("f1")
        case "txt": fileIgnored = middle == "s3"
        case "tmp": fileIgnored = !(top.hasPrefix("d1") && middle == "s2")
        default: fileIgnored = name.dropFirst().first.map { "01234".contains($0) } ?? false
        }
        if directoryIgnored || fileIgnored {
            expected += 1
        }
    }
    #expect(ignored == expected)
    #expect(expected > 0 && expected < 100_000)
}
