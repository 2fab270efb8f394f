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
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DefinitionError(what: what, file: path, "no such file or directory")
            }
            guard isDirectory.boolValue else {
                found.append(path)
                continue
            }
            found += listFiles(path).filter { has($0, extension: fileExtension) }.map { path + "/" + $0 }
        }
        return found
    }

    /// Every regular file under `root`, relative, sorted; hidden entries (`.git`, `.cp`,
    /// editors' files) are skipped. `readdir` with its entry types: no `stat` per file. Links
    /// are followed (a linked file is a file, a linked directory is walked), each directory
    /// once: a link back up the tree does not loop (`aLinkLoopIsWalkedOnce`).
    public static func listFiles(_ root: String) -> [String] {
        var files: [String] = []
        var walked = Set<DirectoryIdentity>()
        var stack = [""]
        while let directory = stack.popLast() {
            let absolute = directory.isEmpty ? root : root + "/" + directory
            var info = stat()
            guard stat(absolute, &info) == 0, walked.insert(DirectoryIdentity(info)).inserted,
                let handle = opendir(absolute)
            else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard !name.hasPrefix(".") else { continue }
                let path = directory.isEmpty ? name : directory + "/" + name
                var kind = entry.pointee.d_type
                if kind == UInt8(DT_UNKNOWN) || kind == UInt8(DT_LNK) {
                    guard stat(root + "/" + path, &info) == 0 else { continue }
                    kind =
                        info.st_mode & S_IFMT == S_IFDIR
                        ? UInt8(DT_DIR) : info.st_mode & S_IFMT == S_IFREG ? UInt8(DT_REG) : 0
                }
                if kind == UInt8(DT_DIR) {
                    stack.append(path)
                } else if kind == UInt8(DT_REG) {
                    files.append(path)
                }
            }
        }
        return files.sorted()
    }

    /// A directory's device and inode: what makes two paths the same directory.
    private struct DirectoryIdentity: Hashable {
        let device: UInt64
        let inode: UInt64
        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    /// Whether `path` ends in `.EXTENSION`, in any case (extensions are ASCII).
    public static func has(_ path: String, extension fileExtension: String) -> Bool {
        let wanted = Array(("." + fileExtension.lowercased()).utf8)
        return path.utf8.count > wanted.count
            && zip(path.utf8.suffix(wanted.count), wanted).allSatisfy { $0 | 0x20 == $1 }
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
