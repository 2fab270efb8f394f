import CPModel
import Foundation

/// Finds definition files by extension (case-insensitive) under files and directories,
/// recursively, and deep-merges them (DESIGN §4: maps merge, lists append, scalars overwrite).
/// Files are read in path order, so the result does not depend on the directory's order.
public enum DefinitionFiles {
    /// The files under `paths` whose extension is `fileExtension` (without the dot), sorted.
    /// A path that is a file is taken whatever its extension; one that does not exist is an error.
    public static func find(_ paths: [String], fileExtension: String, what: String) throws(DefinitionError) -> [String]
    {
        var found: [String] = []
        let wanted = fileExtension.lowercased()
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DefinitionError(what: what, file: path, "no such file or directory")
            }
            guard isDirectory.boolValue else {
                found.append(path)
                continue
            }
            guard let walker = FileManager.default.enumerator(atPath: path) else {
                throw DefinitionError(what: what, file: path, "cannot read the directory")
            }
            var here: [String] = []
            while let relative = walker.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                if name.hasPrefix(".") {
                    walker.skipDescendants()  // .git, .cp and editors' hidden files
                    continue
                }
                if (name as NSString).pathExtension.lowercased() == wanted {
                    here.append((path as NSString).appendingPathComponent(relative))
                }
            }
            found += here.sorted()
        }
        return found
    }

    /// Loads and merges every file `find` returns; nil when there are none.
    public static func load(_ paths: [String], fileExtension: String, what: String) throws(DefinitionError) -> (
        merged: YAMLValue, files: [String]
    )? {
        let files = try find(paths, fileExtension: fileExtension, what: what)
        var merged: YAMLValue?
        for file in files {
            let value = try YAMLLoader.load(file: file, what: what)
            guard case .mapping = value else {
                throw DefinitionError(
                    what: what, at: value.location, "the file must be a map of keys, not \(value.kindName)")
            }
            merged = merged.map { YAMLValue.merge($0, value) } ?? value
        }
        return merged.map { ($0, files) }
    }
}
