import CPProtocol

/// The projects' files as the watchers report them (DESIGN §3 `fileChanged`): each change is
/// mapped to the projects whose root holds it and recorded, with its digest and pod.
extension Coordinator {
    /// Records `change`, reported by the watcher of `pod`; returns the project-relative paths it
    /// changed, by project (empty when no project holds it). A path that is absolute or climbs
    /// with `..` is refused.
    @discardableResult
    public func apply(_ change: FileChange, pod: String) throws(MajorDomoError) -> [String: [String]] {
        guard !change.path.hasPrefix("/"), !change.path.split(separator: "/").contains("..") else {
            throw .badRequest("the path '\(change.path)' is not a clean path relative to its root")
        }
        var touched: [String: [String]] = [:]
        for name in projectNames(on: pod) {
            guard let root = projectRoot(name) else { continue }
            let known = files(of: name)
            guard let changes = ChangeMapping.changes(of: change, pod: pod, inProjectAt: root, known: known),
                !changes.isEmpty
            else { continue }
            try record("the files of project '\(name)'") { try $0.apply(changes, to: name) }
            setFiles(of: name) { files in
                for (path, artefact) in changes { files[path] = artefact }
            }
            for run in runningBuilds(of: name) {
                for (path, artefact) in changes { run.files.update(path, artefact) }
            }
            touched[name] = changes.keys.sorted()
            emitFiles(name, Array(changes.keys))
            // Only a new content (or a file come or gone) is a change: a touch, or a report of
            // what a task of ours just wrote, builds nothing.
            noteChanges(
                name, changes.filter { known[$0.key]?.sha256 != $0.value?.sha256 || known[$0.key] == nil }.map(\.key))
        }
        return touched
    }

    /// Every file of project `name` that a watcher reported, by path.
    public func files(_ name: String) throws(MajorDomoError) -> [ArtefactView] {
        _ = try definition(name)  // the project exists
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
