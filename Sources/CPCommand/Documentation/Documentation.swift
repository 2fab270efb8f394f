import Foundation

/// The man pages and shell completions, generated from the applet table. `make docs` writes
/// them with `cp --generate-docs .`; `generatedFilesMatchTheAppletTable` fails when the
/// committed copies drift from the table.
public enum Documentation {
    /// Every generated file: its path relative to the project root, and its text.
    public static func files() -> [(path: String, text: String)] {
        var files = [(path: "man/cp.1", text: ManPage.overview())]
        for applet in Applets.all {
            files.append((path: "man/cp-\(applet.name).1", text: ManPage.page(for: applet)))
        }
        files.append((path: "completions/cp.bash", text: Completions.bash()))
        files.append((path: "completions/_cp", text: Completions.zsh()))
        files.append((path: "completions/cp.fish", text: Completions.fish()))
        return files
    }

    /// Writes every generated file under `root`.
    static func write(to root: String) -> ExitStatus {
        for file in files() {
            let url = URL(fileURLWithPath: root).appendingPathComponent(file.path)
            do {
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.text.utf8).write(to: url, options: .atomic)
            } catch {
                Output.error(nil, "cannot write '\(url.path)': \(error.localizedDescription)")
                return .failure
            }
        }
        return .success
    }

    /// Every command path below an applet, applet first: `[["ctrl"], ["ctrl", "project"], …]`.
    static func commandChains(_ command: CommandSpec) -> [[CommandSpec]] {
        [[command]] + command.subcommands.flatMap { verb in commandChains(verb).map { [command] + $0 } }
    }
}
