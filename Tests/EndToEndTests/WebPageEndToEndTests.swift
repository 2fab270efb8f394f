import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The MajorDomo's web page in Debian's chromium, driven by Selenium (`Tests/browser/webpage.py`,
/// its virtual environment made by `make setup`): a real `cp up` on a copy of the LaTeX
/// example, a real `cp majordomo serve` with a token and a `cp watch` (and no Chef), a real
/// browser. The script says what
/// it checks; this test gives it the parts and keeps its screenshots.
@Suite(.serialized) struct WebPageEndToEndTests {
    static let python = GraphEndToEndTests.repository + "/.build/test-venv/bin/python"
    static let script = GraphEndToEndTests.repository + "/Tests/browser/webpage.py"
    /// Where the screenshots are kept (the README shows two of them, copied to docs/images).
    static let screenshots = GraphEndToEndTests.repository + "/.build/web-screenshots"

    @Test func theWebPageInARealBrowser() async throws {
        for (path, remedy) in [
            ("/usr/bin/chromium", "apt-get install chromium"),
            ("/usr/bin/chromedriver", "apt-get install chromium-driver"),
            (Self.python, "run 'make setup': it makes .build/test-venv with Selenium"),
        ] {
            try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: \(remedy)")
        }
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let paper = try MajorDomoEndToEndTests().example("latex-paper", in: scratch)
        let up = try await UpEndToEndTests.RunningUp.start(paper, scratch, extra: ["--no-build"])
        var url = ""
        try await waitUntil(deadline: .seconds(60), "cp up to print its address") {
            let out = readTail(of: up.out, maxBytes: 65_536)
            if let range = out.range(of: "open http://") {
                url = "http://" + out[range.upperBound...].prefix { !$0.isWhitespace }
                return true
            }
            return !up.child.isRunning
        }
        try #require(up.child.isRunning, "cp up ended: \(up.stderr)")
        try? FileManager.default.removeItem(atPath: Self.screenshots)
        try await withNATSServer(jetStream: true) { server in
            let guarded = try TemporaryDirectory()
            defer { guarded.remove() }
            try "web-s3cret\n".write(toFile: guarded.file("token"), atomically: true, encoding: .utf8)
            let majordomo = try await RunningMajorDomo.start(
                server, scratch: guarded, extra: ["--token-file", guarded.file("token")])
            defer { majordomo.process.send(signal: SIGTERM) }
            // A watcher to add a project through the page; no Chef, so its build waits until cancelled.
            let watcher = try await MajorDomoEndToEndTests().startWatcher(server, guarded)
            defer { watcher.send(signal: SIGTERM) }
            let hello = try MajorDomoEndToEndTests().example("c-hello", in: guarded)
            let result = try await runProcess(
                Self.python,
                [
                    Self.script, "--url", url, "--project-dir", paper, "--shots", Self.screenshots, "--token-url",
                    majordomo.url, "--token", "web-s3cret", "--add-dir", hello,
                ], deadline: .seconds(900))
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)\n--- cp up:\n\(up.stderr.suffix(4000))")
            print(result.stdout, terminator: "")  // what the browser saw, in the test log
            for shot in ["build.png", "graph.png"] {
                let bytes = FileManager.default.contents(atPath: Self.screenshots + "/" + shot) ?? Data()
                #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 10_000, "\(shot) is not a PNG")
            }
        }
        try await up.interrupt(paper)
    }
}
