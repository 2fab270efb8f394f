import Foundation
import Hashing

/// `--state FILE`: the model of every root, so a restart re-hashes only what changed while the
/// watcher was away. Text, one line each, fields separated by tabs:
///
///     cp-watch-state 1
///     root    /abs/root
///     d  SIZE  MTIME-NS  INODE  DEVICE  MODE  -       path
///     f  SIZE  MTIME-NS  INODE  DEVICE  MODE  SHA256  path
///
/// Paths escape `\`, tab and newline as `\\`, `\t`, `\n`. The file is written to a temporary
/// name and renamed, so a crash leaves the old state or the new one, never half of one.
enum StateFile {
    static let header = "cp-watch-state 1"

    static func save(_ roots: [(root: String, model: ModelTable)], to path: String) throws(WatchError) {
        var text = header + "\n"
        for (root, model) in roots {
            text += "root\t\(escape(root))\n"
            for (relative, entry) in model {
                let identity = entry.identity
                text += entry.isDirectory ? "d" : "f"
                text +=
                    "\t\(identity.size)\t\(identity.modified)\t\(identity.inode)\t\(identity.device)\t\(identity.mode)"
                text += "\t\(entry.digest?.hex ?? "-")\t\(escape(relative))\n"
            }
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)  // a temporary, then rename
        } catch {
            throw .stateFile(path, reason: "cannot write it: \(error.localizedDescription)")
        }
    }

    /// The saved models by root; empty if the file does not exist yet.
    static func load(_ path: String) throws(WatchError) -> [String: [String: Entry]] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .stateFile(path, reason: "cannot read it")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first.map(String.init) == header else {
            throw .stateFile(path, reason: "not a cp watch state file (expected '\(header)' on line 1)")
        }
        var roots: [String: [String: Entry]] = [:]
        var current: String?
        for (number, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if fields.count == 2, fields[0] == "root" {
                let root = unescape(fields[1])
                roots[root] = [:]
                current = root
                continue
            }
            guard let root = current, fields.count == 8, fields[0] == "d" || fields[0] == "f",
                let size = UInt64(fields[1]), let modified = Int64(fields[2]), let inode = UInt64(fields[3]),
                let device = UInt64(fields[4]), let mode = UInt32(fields[5])
            else {
                throw .stateFile(path, reason: "line \(number + 1) is malformed; delete the file to start afresh")
            }
            let digest = fields[6] == "-" ? nil : SHA256Digest(hex: fields[6])
            let identity = FileIdentity(size: size, modified: modified, inode: inode, device: device, mode: mode)
            roots[root]?[unescape(fields[7])] = Entry(isDirectory: fields[0] == "d", identity: identity, digest: digest)
        }
        return roots
    }

    static func escape(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\t" || $0 == "\n" }) else { return text }
        return text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                result.append(character == "t" ? "\t" : character == "n" ? "\n" : character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
