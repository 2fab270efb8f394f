import Foundation

/// A private directory a task's tool writes into (a rule's `{{stage}}`), so that no reader
/// ever sees a half-written output: a PDF viewer keeps showing the last whole PDF while the
/// engine writes the next one. Before the run the stage is emptied and given the project's
/// directories (a TeX engine writes `\include{chapters/one}`'s `chapters/one.aux` there and
/// cannot make `chapters/` itself); after it, every file the tool wrote is moved to the same
/// path in the project, each by one `rename`. After a failed run the task's declared outputs
/// are left as they were (the last good PDF stays) and only the rest (its log) is moved.
public struct Stage: Sendable, Hashable {
    /// Where stages live, relative to the directory a task runs in.
    public static let parent = ".cp/stage"

    /// Where the tool runs (absolute).
    public let directory: String
    /// The stage, relative to `directory` (what `{{stage}}` expands to).
    public let path: String

    public init(directory: String, path: String) {
        self.directory = directory
        self.path = path
    }

    /// The stage of the task named `task`: one directory per task name, distinct for distinct
    /// names (bytes other than letters, digits, `-`, `_` and an inner `.` become `+XX`).
    public static func path(task: String) -> String {
        var name = ""
        for (offset, byte) in task.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                name.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: ".") where offset > 0:
                name.append(".")
            default:
                name += "+" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return parent + "/" + (name.isEmpty ? "+" : name)
    }

    private var absolute: String { directory + "/" + path }

    /// Empties the stage and makes in it each directory of `directory` (hidden ones aside).
    public func prepare() throws(StageError) {
        let manager = FileManager.default
        do {
            if manager.fileExists(atPath: absolute) { try manager.removeItem(atPath: absolute) }
            try manager.createDirectory(atPath: absolute, withIntermediateDirectories: true)
            for relative in Self.directories(in: directory) {
                try manager.createDirectory(atPath: absolute + "/" + relative, withIntermediateDirectories: true)
            }
        } catch {
            throw StageError("cannot prepare the stage '\(path)': \(error.localizedDescription)")
        }
    }

    /// Moves what the tool wrote into place. After a failed run (`succeeded` false) the files
    /// named in `outputs` stay as they were and the stage's copies are dropped. Returns the
    /// paths moved, relative to `directory`, sorted.
    @discardableResult
    public func deliver(succeeded: Bool, outputs: Set<String>) throws(StageError) -> [String] {
        var moved: [String] = []
        for relative in Self.files(in: absolute) {
            let source = absolute + "/" + relative
            if !succeeded && outputs.contains(relative) {
                unlink(source)
                continue
            }
            let target = directory + "/" + relative
            if rename(source, target) != 0 {
                let parent = (target as NSString).deletingLastPathComponent
                try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                guard rename(source, target) == 0 else {
                    throw StageError(
                        "cannot move '\(relative)' out of the stage '\(path)': \(String(cString: strerror(errno)))")
                }
            }
            moved.append(relative)
        }
        return moved.sorted()
    }

    /// The stage path of `file` as the project's path (a tool that read back what it wrote
    /// into the stage names the stage's copy), else `file` itself.
    public func projectPath(of file: String) -> String {
        file.hasPrefix(path + "/") ? String(file.dropFirst(path.count + 1)) : file
    }

    /// Every directory under `root`, relative to it, hidden ones (`.git`, `.cp`) and what is
    /// in them aside; symbolic links are not followed.
    static func directories(in root: String) -> [String] { walk(root, enteringHidden: false).directories }

    /// Every file (or link) under `root`, relative to it.
    static func files(in root: String) -> [String] { walk(root, enteringHidden: true).files }

    /// The directories and the other entries under `root`, relative to it; only real
    /// directories are entered, and hidden ones only when `enteringHidden`.
    private static func walk(_ root: String, enteringHidden: Bool) -> (directories: [String], files: [String]) {
        var directories: [String] = []
        var files: [String] = []
        var pending = [""]
        while let relative = pending.popLast() {
            guard let handle = opendir(relative.isEmpty ? root : root + "/" + relative) else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name != ".", name != ".." else { continue }
                let path = relative.isEmpty ? name : relative + "/" + name
                var isDirectory = Int(entry.pointee.d_type) == Int(DT_DIR)
                if Int(entry.pointee.d_type) == Int(DT_UNKNOWN) {
                    var info = stat()
                    guard lstat(root + "/" + path, &info) == 0 else { continue }
                    isDirectory = info.st_mode & S_IFMT == S_IFDIR
                }
                if !isDirectory {
                    files.append(path)
                } else if enteringHidden || !name.hasPrefix(".") {
                    directories.append(path)
                    pending.append(path)
                }
            }
        }
        return (directories, files)
    }
}

/// A stage that could not be made or emptied.
public struct StageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
