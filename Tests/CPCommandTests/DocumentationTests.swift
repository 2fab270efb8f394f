import Foundation
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

    @Test func manPagesRenderWithoutWarnings() throws {
        let groff = ["/usr/bin/groff", "/bin/groff"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(groff, "groff not found; install it with: apt-get install groff-base")
        for file in Documentation.files() where file.path.hasPrefix("man/") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["-man", "-Tutf8", "-ww", "-z"]
            let input = Pipe(), errors = Pipe()
            process.standardInput = input
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            input.fileHandleForWriting.write(Data(file.text.utf8))
            try input.fileHandleForWriting.close()
            let warnings = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(warnings.isEmpty, "\(file.path): \(warnings)")
        }
    }

    @Test func bashCompletionIsValidBash() throws {
        let text = Documentation.files().first { $0.path == "completions/cp.bash" }!.text
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-n", "-c", text]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}

@Suite struct BashCompletionTests {
    /// What the generated bash completion offers for the command line `words` (last = being typed).
    private func complete(_ words: [String]) throws -> [String] {
        let text = Documentation.files().first { $0.path == "completions/cp.bash" }!.text
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let script =
            text + "\nCOMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _cp_computepods;"
            + " printf '%s\\n' \"${COMPREPLY[@]}\"\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["--norc", "-c", script]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func completesRolesVerbsOptionsAndChoices() throws {
        #expect(try complete(["cp", "wa"]) == ["watch"])
        #expect(try complete(["cp", "ctrl", "project", "a"]) == ["add"])
        #expect(try complete(["cp", "watch", "--set"]) == ["--settle"])
        #expect(try complete(["cp", "graph", "--format", ""]) == ["dot", "json", "mermaid"])
        #expect(try complete(["cp", "sftp", "mkdir", "--pa"]) == ["--parents", "--passphrase-file"])
        #expect(try complete(["inotify2nats", "--log"]) == ["--log-glob"])
    }

    @Test func aCopyCommandLineGetsNoRoleWords() throws {
        #expect(try complete(["cp", "notes.txt", ""]) == [])
        #expect(try complete(["cp", "watch", "--config", ""]) == [])
    }
}
