import Foundation
import Testing

@testable import CPProtocol

@Suite struct SubjectTokenTests {
    @Test(arguments: [
        ("a.b", "a%2Eb"), ("*", "%2A"), (">", "%3E"), ("a b", "a%20b"), ("tab\there", "tab%09here"),
        ("100%", "100%25"), ("line\nbreak", "line%0Abreak"), ("über straße", "über%20straße"),
        ("日本語.tex", "日本語%2Etex"), ("", "%"), ("%2E", "%252E"), ("plain-name_1", "plain-name_1"),
    ])
    func escapesExactly(_ value: String, _ escaped: String) {
        #expect(SubjectToken.escape(value) == escaped)
        #expect(SubjectToken.unescape(escaped) == value)
    }

    @Test func roundTripsAndNeverLeavesASpecialByte() {
        let samples = ["a.b.c", "*.>", " \t\r\n\u{0B}\u{0C}", "%%%", "ünïcödé/ファイル.tex", "x", "..", "a%2"]
        for sample in samples {
            let token = SubjectToken.escape(sample)
            #expect(SubjectToken.unescape(token) == sample)
            #expect(!token.utf8.contains { [0x2E, 0x2A, 0x3E, 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains($0) })
        }
    }

    @Test func pathsBecomeOneTokenPerComponent() {
        #expect(SubjectToken.escape(path: "chapters/intro.tex") == "chapters.intro%2Etex")
        #expect(SubjectToken.escape(path: "/a//b/") == "a.b")
    }

    @Test func invalidEscapesAreRefused() {
        #expect(SubjectToken.unescape("%G1") == nil)
        #expect(SubjectToken.unescape("%2") == nil)
        #expect(SubjectToken.unescape("a.b") == nil)
        #expect(SubjectToken.unescape("%FF") == nil)  // not UTF-8
    }
}

struct Note: Codable, Sendable, Equatable {
    var text: String
    var count: Int
}

@Suite struct EnvelopeTests {
    let sender = Sender(pod: "pod1", role: "watch", name: "w1")

    @Test func payloadFieldsSitBesideVersionAndSender() throws {
        let data = try JSONEncoder().encode(Envelope(sender: sender, payload: Note(text: "hi", count: 2)))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["v"] as? Int == 1)
        #expect(object["text"] as? String == "hi")
        #expect(object["count"] as? Int == 2)
        #expect((object["sender"] as? [String: String]) == ["pod": "pod1", "role": "watch", "name": "w1"])
        let back = try JSONDecoder().decode(Envelope<Note>.self, from: data)
        #expect(back == Envelope(sender: sender, payload: Note(text: "hi", count: 2)))
    }

    @Test func anotherVersionIsRefused() {
        let json = #"{"v":2,"sender":{"pod":"p","role":"r","name":"n"},"text":"x","count":1}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Envelope<Note>.self, from: Data(json.utf8)) }
    }

    @Test func aMissingSenderIsRefused() {
        let json = #"{"v":1,"text":"x","count":1}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Envelope<Note>.self, from: Data(json.utf8)) }
    }
}
