import CPProtocol
import DependencyGraph
import Foundation
import RulesManager

/// The projects' files as the watchers report them (DESIGN §3 `fileChanged`): each change is
/// mapped to the projects whose root holds it and recorded, with its digest and pod.
extension Coordinator {
    /// Records `change`, reported by the watcher of `pod`; returns the project-relative paths it
    /// changed, by project (empty when no project holds it). A path (or a rename's `from`) that
    /// is absolute, climbs with `..`, is not normalised or cannot name a file (a NUL, too long)
    /// is refused.
    @discardableResult
    public func apply(_ change: FileChange, pod: String) throws(MajorDomoError) -> [String: [String]] {
        for path in [change.path] + (change.from.map { [$0] } ?? [])
        where !path.isEmpty && ProjectPath.normalize(path) != path {
            throw .badRequest("the path '\(Self.shown(path))' is not a clean path relative to its root")
        }
        var touched: [String: [String]] = [:]
        for name in projectNames(on: pod) {
            guard let root = projectRoot(name), let (changes, fresh) = mapped(change, pod: pod, name: name, root: root)
            else { continue }
            try record("the files of project '\(name)'") { try $0.apply(changes, to: name) }
            setFiles(of: name) { files in
                for (path, artefact) in changes { files[path] = artefact }
            }
            touched[name] = changes.keys.sorted()
            emitFiles(name, Array(changes.keys))
            noteChanges(name, fresh.filter { mayChangeABuild(name, $0) })
        }
        return touched
    }

    /// `path` for a message: NULs shown as `\0`, cut after 200 characters.
    static func shown(_ path: String) -> String {
        let visible = path.replacingOccurrences(of: "\u{0}", with: "\\0")
        return visible.count > 200 ? visible.prefix(200) + "… (\(path.utf8.count) bytes)" : visible
    }

    /// What `change` does to project `name`'s files, and which paths it gave a new content (or
    /// made come or go): only those are changes to build; a touch, or the report of what a
    /// task of ours just wrote, is not. The known files are let go before they are changed.
    private func mapped(_ change: FileChange, pod: String, name: String, root: String) -> (
        [String: Artefact?], [String]
    )? {
        let known = files(of: name)
        guard let changes = ChangeMapping.changes(of: change, pod: pod, inProjectAt: root, known: known),
            !changes.isEmpty
        else { return nil }
        let fresh = changes.filter { known[$0.key]?.sha256 != $0.value?.sha256 || known[$0.key] == nil }.map(\.key)
        return (changes, fresh)
    }

    /// Whether a new content of `path` may change what a build of project `name` does: it is
    /// a definition file, a file of the graph and not an output of a job out now (that job's
    /// result says what it wrote; the watcher may see the file first), or a file a task's tool
    /// reported reading (its rule's `discover`). A file no task reads or writes — a tool's
    /// `.log`, `.blg` — never starts or supersedes a build. In a project whose tasks are
    /// inferred, a `.tex` or `.c` file may change them.
    func mayChangeABuild(_ name: String, _ path: String) -> Bool {
        if Self.isDefinitionFile(path) { return true }
        guard let project = projectGraph(name) else { return false }
        let graph = project.graph
        if !project.inferred.isEmpty && Inference.mayChangeTasks(path) { return true }
        guard graph.artefact(path) != nil else {
            // A file a tool reported reading (a header no task names).
            return FileManager.default.fileExists(atPath: recordsPath(name))
                && (try? records(name).tasks(discovering: [path]).isEmpty) == false
        }
        return !runningBuilds(of: name).contains { run in run.inFlight.values.contains { $0.outputs.contains(path) } }
    }

    /// Every file of project `name` that a watcher reported, by path.
    public func files(_ name: String) throws(MajorDomoError) -> [ArtefactView] {
        try requireProject(name)
        return files(of: name).sorted { $0.key < $1.key }.map { ArtefactView(path: $0.key, artefact: $0.value) }
    }

    /// File `path` of project `name`.
    public func file(_ name: String, _ path: String) throws(MajorDomoError) -> ArtefactView {
        let known = try files(name)
        guard let found = known.first(where: { $0.path == path }) else {
            throw .notFound("project '\(name)' has no file '\(path)' that a watcher reported")
        }
        return found
    }
}
