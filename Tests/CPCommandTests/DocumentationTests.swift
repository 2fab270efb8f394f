import Foundation
import TestSupport
import Testing

@testable import CPCommand

/// The project's root, found from this file's path.
let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

@Suite struct DocumentationTests {
    @Test func generatedFilesMatchTheAppletTable() throws {
        for file in Documentation.files() {
            let committed = try? String(contentsOfFile: projectRoot + "/" + file.path, encoding: .utf8)
            #expect(committed == file.text, "\(file.path) is out of date: run 'make docs'")
        }
    }

    @Test func everyRoleAndLongOptionAppearsInEveryFormat() {
        let files = Dictionary(uniqueKeysWithValues: Documentation.files().map { ($0.path, $0.text) })
        for applet in Applets.all {
            let page = files["man/cp-\(applet.name).1"] ?? ""
            #expect(files["man/cp.1"]?.contains(".B \(applet.name)\n") == true)
            for shell in ["completions/cp.bash", "completions/_cp", "completions/cp.fish"] {
                #expect(files[shell]?.contains(applet.name) == true, "\(applet.name) missing from \(shell)")
            }
            for spec in ConfigSchema.allOptions(of: applet.command) + CommonOptions.global {
                let roff = "\\-\\-" + spec.long.replacingOccurrences(of: "-", with: "\\-")
                #expect(page.contains(roff), "--\(spec.long) missing from man/cp-\(applet.name).1")
                #expect(files["completions/cp.bash"]?.contains(spec.dashedLong) == true)
                #expect(files["completions/_cp"]?.contains(spec.dashedLong) == true)
                #expect(files["completions/cp.fish"]?.contains("-l \(spec.long)") == true)
            }
        }
    }

    // The tools run as child processes that are waited for without blocking a thread of the
    // test runner's pool (a blocked pool stalls every other test of the run).
    @Test func manPagesRenderWithoutWarnings() async throws {
        let groff = ["/usr/bin/groff", "/bin/groff"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(groff, "groff not found; install it with: apt-get install groff-base")
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        for file in Documentation.files() where file.path.hasPrefix("man/") {
            let page = scratch.file((file.path as NSString).lastPathComponent)
            try file.text.write(toFile: page, atomically: true, encoding: .utf8)
            let result = try await runProcess(path, ["-man", "-Tutf8", "-ww", "-z", page])
            #expect(result.status == 0)
            #expect(result.stderr.isEmpty, "\(file.path): \(result.stderr)")
        }
    }

    @Test func bashCompletionIsValidBash() async throws {
        let text = Documentation.files().first { $0.path == "completions/cp.bash" }!.text
        #expect(try await runProcess("/bin/bash", ["-n", "-c", text]).status == 0)
    }
}

@Suite struct BashCompletionTests {
    /// What the generated bash completion offers for the command line `words` (last = being typed).
    private func complete(_ words: [String]) async throws -> [String] {
        let text = Documentation.files().first { $0.path == "completions/cp.bash" }!.text
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let script =
            text + "\nCOMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _cp_computepods;"
            + " printf '%s\\n' \"${COMPREPLY[@]}\"\n"
        let result = try await runProcess("/bin/bash", ["--norc", "-c", script])
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func completesRolesVerbsOptionsAndChoices() async throws {
        #expect(try await complete(["cp", "wa"]) == ["watch"])
        #expect(try await complete(["cp", "ctrl", "project", "a"]) == ["add"])
        #expect(try await complete(["cp", "watch", "--set"]) == ["--settle"])
        #expect(try await complete(["cp", "graph", "--format", ""]) == ["dot", "json", "mermaid"])
        #expect(try await complete(["cp", "sftp", "mkdir", "--pa"]) == ["--parents", "--passphrase-file"])
        #expect(try await complete(["inotify2nats", "--log"]) == ["--log-glob"])
    }

    @Test func aCopyCommandLineGetsNoRoleWords() async throws {
        #expect(try await complete(["cp", "notes.txt", ""]) == [])
        #expect(try await complete(["cp", "watch", "--config", ""]) == [])
    }
}
