import Foundation
import TestSupport
import Testing

@testable import CPModel

/// A private directory of files for one test.
typealias Scratch = TemporaryDirectory

private func parse(_ text: String) throws(YAMLLoadError) -> YAMLValue {
    try YAMLLoader.parse(text, file: "t.yaml", what: "config")
}

@Suite struct YAMLLoaderTests {
    @Test func valuesRememberTheirLineAndColumn() throws {
        let document = try parse("watch:\n  settle: 1s\n  ignore:\n    - '*.log'\n")
        let settle = try #require(document["watch"]?["settle"])
        #expect(settle == .scalar("1s", SourceLocation(file: "t.yaml", line: 2, column: 11)))
        let ignore = try #require(document["watch"]?["ignore"])
        guard case .sequence(let items, _) = ignore else { Issue.record("not a list"); return }
        #expect(items.first?.location.line == 4)
    }

    @Test func nullsAreNotScalars() throws {
        let document = try parse("a:\nb: ~\nc: null\nd: 'null'\n")
        #expect(document["a"] == .null(document["a"]!.location))
        #expect(document["b"].map { if case .null = $0 { true } else { false } } == true)
        #expect(document["c"].map { if case .null = $0 { true } else { false } } == true)
        #expect(document["d"].map { if case .scalar("null", _) = $0 { true } else { false } } == true)
    }

    @Test func syntaxErrorNamesFileLineAndColumn() {
        #expect(throws: YAMLLoadError.self) { try parse("watch:\n  settle: [1s\n") }
        do {
            _ = try parse("watch:\n  settle: 1s\n bad\n")
            Issue.record("no error")
        } catch {
            #expect(error.file == "t.yaml")
            #expect(error.line == 3)
            #expect(error.description.hasPrefix("config 't.yaml' line 3, column "))
        }
    }

    @Test func duplicateKeysAreRefused() {
        do {
            _ = try parse("a: 1\na: 2\n")
            Issue.record("no error")
        } catch {
            #expect(error.description == "config 't.yaml' line 1, column 1: duplicate key 'a' in this map")
        }
    }

    @Test func anEmptyDocumentIsAnEmptyMap() throws {
        #expect(try parse("").entries == [])
        #expect(try parse("# only a comment\n").entries == [])
    }

    @Test func aMissingFileSaysSo() {
        do {
            _ = try YAMLLoader.load(file: "/nonexistent/cp.yaml", what: "config")
            Issue.record("no error")
        } catch {
            #expect(error.description == "config '/nonexistent/cp.yaml': cannot read: no such file")
        }
    }

    @Test func deepMergeMergesMapsAppendsListsOverwritesScalars() throws {
        let base = try parse("a: {x: 1, y: [1, 2]}\nb: old\nkeep: 1\n")
        let overlay = try parse("a: {y: [3], z: 4}\nb: new\n")
        let merged = YAMLValue.merge(base, overlay)
        #expect(merged["a"]?["x"].map(scalar) == "1")
        #expect(merged["a"]?["z"].map(scalar) == "4")
        #expect(merged["b"].map(scalar) == "new")
        #expect(merged["keep"].map(scalar) == "1")
        guard case .sequence(let items, _)? = merged["a"]?["y"] else { Issue.record("y is not a list"); return }
        #expect(items.map(scalar) == ["1", "2", "3"])
    }

    @Test func aScalarOverwritesAMapAndAMapOverwritesAScalar() throws {
        let merged = YAMLValue.merge(try parse("a: {x: 1}\nb: 2\n"), try parse("a: 5\nb: {y: 1}\n"))
        #expect(merged["a"].map(scalar) == "5")
        #expect(merged["b"]?["y"].map(scalar) == "1")
    }

    private func scalar(_ value: YAMLValue) -> String {
        if case .scalar(let text, _) = value { return text }
        return "<\(value.kindName)>"
    }
}

/// The error loading `file` with its includes gives, or nil if it loads.
private func includeError(_ file: String) -> YAMLLoadError? {
    do {
        _ = try YAMLLoader.loadWithIncludes(file: file, what: "config")
        return nil
    } catch {
        return error
    }
}

@Suite struct YAMLIncludeTests {
    @Test func includedFilesMergeFirstAndTheIncluderWins() throws {
        let scratch = try Scratch()
        try scratch.write("base.yaml", "watch:\n  settle: 1s\n  ignore: ['*.o']\nnats:\n  url: nats://a:1\n")
        try scratch.write("more/extra.yaml", "watch:\n  ignore: ['*.aux']\n")
        let main = try scratch.write(
            "cp.yaml", "include: [base.yaml, more/extra.yaml]\nwatch:\n  settle: 2s\n  ignore: ['*.log']\n")
        let merged = try YAMLLoader.loadWithIncludes(file: main, what: "config")
        #expect(merged["include"] == nil)
        #expect(merged["watch"]?["settle"].map { if case .scalar(let t, _) = $0 { t } else { "" } } == "2s")
        guard case .sequence(let globs, _)? = merged["watch"]?["ignore"] else { Issue.record("no list"); return }
        #expect(globs.map { if case .scalar(let t, _) = $0 { t } else { "" } } == ["*.o", "*.aux", "*.log"])
        #expect(merged["nats"]?["url"] != nil)
    }

    @Test func aSingleIncludeMayBeAPlainPath() throws {
        let scratch = try Scratch()
        try scratch.write("base.yaml", "chef:\n  jobs: 3\n")
        let main = try scratch.write("cp.yaml", "include: base.yaml\n")
        #expect(try YAMLLoader.loadWithIncludes(file: main, what: "config")["chef"]?["jobs"] != nil)
    }

    @Test func anIncludeCycleIsAnErrorAtTheIncludeLine() throws {
        let scratch = try Scratch()
        try scratch.write("a.yaml", "include: b.yaml\n")
        try scratch.write("b.yaml", "watch: {}\ninclude: a.yaml\n")
        let error = try #require(includeError(scratch.path + "/a.yaml"))
        #expect(error.file == scratch.path + "/b.yaml")
        #expect(error.line == 2)
        #expect(error.reason.hasPrefix("include cycle: "))
    }

    @Test func aMissingIncludedFileIsNamed() throws {
        let scratch = try Scratch()
        let main = try scratch.write("cp.yaml", "watch: {}\ninclude:\n  - nope.yaml\n")
        #expect(
            includeError(main)?.description
                == "config '\(main)' line 3, column 5: included file '\(scratch.path)/nope.yaml' does not exist")
    }

    @Test func theTopLevelMustBeAMap() throws {
        let scratch = try Scratch()
        let main = try scratch.write("cp.yaml", "- a\n- b\n")
        #expect(
            includeError(main)?.description
                == "config '\(main)' line 1, column 1: expected a map of sections at the top, found a list")
    }
}
