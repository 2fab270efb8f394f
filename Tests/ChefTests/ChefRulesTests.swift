import CPModel
import CPProtocol
import Chef
import Foundation
import RulesManager
import TestSupport
import Testing

@Suite struct ChefRulesTests {
    static let bundled =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/rules"

    @Test func theDerivedKindNamesTheRulesFilesAndChangesWithTheRules() throws {
        let rules = try ChefRules.load([Self.bundled])
        let kind = rules.derivedKind
        #expect(kind.hasPrefix("c+files+latex-") && kind.count == "c+files+latex-".count + 6, "\(kind)")
        #expect(try ChefRules.load([Self.bundled]).derivedKind == kind)  // the same rules, the same queue
        var fewer = rules.book
        fewer.rules["copy"] = nil
        #expect(ChefRules(fewer).derivedKind != kind)
    }

    @Test func registrationsCarryWhatRulesReadAndWriteButNoCommand() throws {
        let rules = try ChefRules.load([Self.bundled])
        let registered = rules.ruleRegistrations(chef: "c1", kind: "k")
        #expect(Set(registered.map(\.ruleName)) == Set(rules.book.rules.keys))
        #expect(registered.allSatisfy { $0.chefKind == "k" && $0.chefName == "c1" })
        let compile = try #require(registered.first { $0.ruleName == "compile" })
        #expect(compile.theRule.dependencies == ["%.c"] && compile.theRule.outputs == ["%.o"])
        let encoded = String(decoding: try JSONEncoder().encode(registered), as: UTF8.self)
        #expect(!encoded.contains("gcc") && !encoded.contains("pdflatex -"))
        #expect(Set(rules.typeRegistrations(chef: "c1").map(\.typeName)).isSuperset(of: ["cSource", "cObject"]))
    }

    @Test func howToIsAnsweredByTheRulesThatWriteTheType() throws {
        let rules = try ChefRules.load([Self.bundled])
        let answers = rules.canFrom(HowTo(goal: "src/greet.o", have: []), type: "cObject", chef: "c1")
        let compile = try #require(answers.first { $0.ruleName == "compile" })
        #expect(compile.from == ["src/greet.c"] && compile.canBuild == "src/greet.o" && compile.chefName == "c1")
        #expect(rules.canFrom(HowTo(goal: "x.zip", have: []), type: "zip", chef: "c1").isEmpty)
    }

    @Test func anUnreadableOrEmptyRulesDirectoryIsOneClearError() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        #expect(throws: DefinitionError.self) { try ChefRules.load([scratch.file("missing")]) }
        do {
            _ = try ChefRules.load([scratch.file("missing")])
        } catch {
            #expect("\(error)".contains("missing") && "\(error)".contains("no such file or directory"), "\(error)")
        }
        try FileManager.default.createDirectory(atPath: scratch.file("empty"), withIntermediateDirectories: true)
        do {
            _ = try ChefRules.load([scratch.file("empty")])
            Issue.record("an empty rules directory loaded")
        } catch {
            #expect("\(error)".contains("no rules found"), "\(error)")
        }
    }
}
