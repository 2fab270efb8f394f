import Foundation
import Testing

@testable import CPProtocol

/// The project's root, found from this file's path.
let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A row of docs/nats.md's subjects table.
struct DocumentedSubject {
    var subject: String
    var typeName: String
    var example: String
}

/// The rows of the table under "## Subjects" in docs/nats.md: subject, type and example file.
func documentedSubjects() throws -> [DocumentedSubject] {
    let text = try String(contentsOfFile: projectRoot + "/docs/nats.md", encoding: .utf8)
    let section = try #require(text.components(separatedBy: "## Subjects").dropFirst().first)
    var rows: [DocumentedSubject] = []
    for line in section.split(separator: "\n") where line.hasPrefix("| `") {
        let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let unquoted = { (cell: String) in cell.replacingOccurrences(of: "`", with: "") }
        // | subject | from → to | body | Swift type | example | state |
        let link = cells[5]
        let example = link.split(separator: "(").last.map { String($0.dropLast()) } ?? ""
        rows.append(DocumentedSubject(subject: unquoted(cells[1]), typeName: unquoted(cells[4]), example: example))
    }
    return rows
}

@Suite struct MessageCatalogTests {
    @Test func everyDocumentedSubjectHasItsTypeAndEveryTypeIsDocumented() throws {
        let documented = try documentedSubjects()
        #expect(documented.count >= 20)
        for row in documented {
            let kind = MessageCatalog.kind(row.subject)
            #expect(kind != nil, "docs/nats.md documents '\(row.subject)', which MessageCatalog does not know")
            #expect(kind?.typeName == row.typeName, "'\(row.subject)': docs say \(row.typeName)")
        }
        for kind in MessageCatalog.all {
            #expect(documented.contains { $0.subject == kind.subject }, "'\(kind.subject)' is not in docs/nats.md")
        }
        #expect(Set(MessageCatalog.all.map(\.subject)).count == MessageCatalog.all.count)
    }

    @Test func everyExampleDecodesAsItsTypeAndEncodesBackTheSame() throws {
        for row in try documentedSubjects() {
            let path = projectRoot + "/docs/" + row.example
            let data = try #require(FileManager.default.contents(atPath: path), "missing example \(path)")
            let kind = try #require(MessageCatalog.kind(row.subject))
            let again = try kind.roundTrip(data)
            let original = try JSONSerialization.jsonObject(with: data) as? NSDictionary
            let encoded = try JSONSerialization.jsonObject(with: again) as? NSDictionary
            #expect(original != nil && original == encoded, "\(row.example) does not round-trip as \(row.typeName)")
        }
    }

    @Test func anExampleOfTheWrongShapeIsRefused() throws {
        let heartbeat = try #require(MessageCatalog.kind("heartbeat.<role>.<name>"))
        let job = #"{"v":1,"sender":{"pod":"p","role":"r","name":"n"},"jobId":"j"}"#
        #expect(throws: DecodingError.self) { try heartbeat.roundTrip(Data(job.utf8)) }
    }
}

@Suite struct SubjectsTests {
    @Test func subjectsEscapeTheirUserData() {
        #expect(Subjects.heartbeat(role: "chef", name: "pod.2") == "heartbeat.chef.pod%2E2")
        #expect(
            Subjects.fileChanged(.moved, pod: "lap top", path: "sub dir/a.tex")
                == "fileChanged.moved.lap%20top.sub%20dir.a%2Etex")
        #expect(Subjects.fileChanged(.deleted, pod: "p", path: "") == "fileChanged.deleted.p.%")
        #expect(Subjects.watchRequest(pod: "laptop") == "watchRequest.laptop")
        #expect(Subjects.register(.rules) == "register.rules")
        #expect(Subjects.registered(.artefacts) == "registered.artefacts")
        #expect(Subjects.buildFrom(kind: "latex") == "build.from.latex")
        #expect(Subjects.buildResults(jobId: "b1.t*") == "build.results.b1%2Et%2A")
        #expect(Subjects.buildCancel(jobId: "j") == "build.cancel.j")
        #expect(Subjects.logger(project: "my thesis", task: "paper.pdf") == "logger.my%20thesis.paper%2Epdf")
        #expect(
            Subjects.howTo(type: "pdf") == "build.howTo.pdf" && Subjects.canFrom(type: "pdf") == "build.canFrom.pdf")
        #expect(Subjects.failed("build.results.j") == "failed.build.results.j")
    }

    @Test func theOriginalsRegistrationsWithoutOptionalKeysDecode() throws {
        let rule =
            #"{"v":1,"sender":{"pod":"p","role":"chef","name":"c"},"chefName":"c","ruleName":"r","theRule":{"outputs":["%.o"]}}"#
        let decoded = try JSONDecoder().decode(Envelope<RegisterRule>.self, from: Data(rule.utf8))
        #expect(decoded.payload.theRule == .init(dependencies: [], secondaryDependencies: [], outputs: ["%.o"]))
        let type =
            #"{"v":1,"sender":{"pod":"p","role":"chef","name":"c"},"chefName":"c","typeName":"t","extensions":["*.c"]}"#
        #expect(try JSONDecoder().decode(Envelope<RegisterType>.self, from: Data(type.utf8)).payload.isLog == false)
    }
}
