import Foundation

extension YAMLLoader {
    /// Loads a mapping file and the files its top-level `include:` names (a path or a list of
    /// paths, relative to the including file). Included files are merged first, in order, and
    /// the including file is merged over them, so it has the last word. Include cycles and
    /// missing included files are errors at the `include:` line.
    public static func loadWithIncludes(file path: String, what: String) throws(YAMLLoadError) -> YAMLValue {
        try loadWithIncludes(file: path, what: what, stack: [])
    }

    /// `stack` holds the including files, as given, outermost first.
    private static func loadWithIncludes(
        file path: String, what: String, stack: [String]
    ) throws(YAMLLoadError) -> YAMLValue {
        let document = try load(file: path, what: what)
        guard case .mapping(let entries, let location) = document else {
            throw YAMLLoadError(
                what: what, at: document.location, "expected a map of sections at the top, found \(document.kindName)")
        }
        guard let include = entries.first(where: { $0.key == "include" }) else { return document }
        var merged = YAMLValue.mapping([], location)
        let canonical = (stack + [path]).map(canonicalPath)
        for (target, targetLocation) in try includeTargets(include, what: what) {
            let resolved = resolve(target, relativeTo: path)
            if canonical.contains(canonicalPath(resolved)) {
                let chain = (stack.map { "'\($0)'" } + ["'\(path)'", "'\(resolved)'"]).joined(separator: " → ")
                throw YAMLLoadError(what: what, at: targetLocation, "include cycle: \(chain)")
            }
            guard FileManager.default.fileExists(atPath: resolved) else {
                throw YAMLLoadError(what: what, at: targetLocation, "included file '\(resolved)' does not exist")
            }
            let included = try loadWithIncludes(file: resolved, what: what, stack: stack + [path])
            merged = .merge(merged, included)
        }
        let own = YAMLValue.mapping(entries.filter { $0.key != "include" }, location)
        return .merge(merged, own)
    }

    private static func includeTargets(_ include: YAMLEntry, what: String) throws(YAMLLoadError) -> [(
        String, SourceLocation
    )] {
        switch include.value {
        case .scalar(let text, let location): return [(text, location)]
        case .sequence(let items, _):
            var targets: [(String, SourceLocation)] = []
            for item in items {
                guard case .scalar(let text, let location) = item else {
                    throw YAMLLoadError(
                        what: what, at: item.location, "'include' lists file paths; found \(item.kindName)")
                }
                targets.append((text, location))
            }
            return targets
        default:
            throw YAMLLoadError(
                what: what, at: include.value.location, "'include' takes a file path or a list of them")
        }
    }

    private static func resolve(_ target: String, relativeTo file: String) -> String {
        if target.hasPrefix("/") { return target }
        if target == "~" || target.hasPrefix("~/") {
            return FileManager.default.homeDirectoryForCurrentUser.path + target.dropFirst()
        }
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty ? target : directory + "/" + target
    }

    private static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }
}
