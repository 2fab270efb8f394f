import CPModel
import Foundation
import Hashing
import RulesManager

/// A project's built graph, kept in `.cp/graph.cache` so that a project whose definitions did
/// not change is not parsed again (YAML is most of a large project's load). The cache is keyed
/// by a digest of every rules and definition file's path and content (hashing is far cheaper
/// than parsing, and no same-second rewrite can fool it), the project's file list (pattern
/// rules depend on it) and the targets asked for; anything else, or a file that does not read
/// back whole, is a miss.
public enum GraphCache {
    static let magic = Array("CPGRAPH3".utf8)

    /// The key for these inputs.
    static func key(ruleFiles: [String], definitionFiles: [String], files: [String], targets: [String]) -> SHA256Digest
    {
        guard let key = try? SHA256Hasher(), let contents = try? FileHasher() else { return SHA256Digest([]) }
        func add(_ text: String) {
            var text = text
            text.withUTF8 { try? key.update(UnsafeRawBufferPointer($0)) }
        }
        add("cp graph cache 3\n")
        for file in ruleFiles + definitionFiles {
            let digest = (try? contents.hash(file, followingLinks: true))?.digest.hex ?? "-"
            add("\(file)\t\(digest)\n")
        }
        add("files\n")
        for file in files { add(file + "\n") }
        add("targets\n" + targets.sorted().joined(separator: "\n"))
        return (try? key.finalize()) ?? SHA256Digest([])
    }

    static func write(_ graph: BuildGraph, ruleFiles: [String], key: SHA256Digest, to path: String) {
        var out = Writer()
        out.bytes(magic)
        for word in [key.words.0, key.words.1, key.words.2, key.words.3] { out.u64(word) }
        out.strings(ruleFiles)
        out.strings(graph.artefacts)
        var templates: [String: (ArgvTemplate, Discovery?)] = [:]
        for task in graph.tasks { templates[task.rule] = (task.build, task.discovery) }
        out.u32(templates.count)
        for (rule, (template, discovery)) in templates.sorted(by: { $0.key < $1.key }) {
            out.string(rule)
            out.strings(template.source)
            out.strings(discovery.map { [$0.format.rawValue] + $0.file.source } ?? [])
        }
        out.u32(graph.tasks.count)
        for task in graph.tasks {
            out.string(task.name)
            out.string(task.rule)
            out.ids(task.dependencies)
            out.ids(task.secondaryDependencies)
            out.ids(task.outputs)
            out.string(task.stem)
            out.string(task.mainFile)
            out.string(task.location.file)
            out.u32(task.location.line)
            out.u32(task.location.column)
            out.u32(task.fromPattern ? 1 : 0)
        }
        out.ids(graph.goals)
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? Data(out.data).write(to: URL(fileURLWithPath: path), options: .atomic)  // a cache: a miss next time
    }

    /// The cached graph if `path` holds one for `key`.
    static func read(_ path: String, key: SHA256Digest) -> (graph: BuildGraph, ruleFiles: [String])? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return data.withUnsafeBytes { raw -> (BuildGraph, [String])? in
            var input = Reader(raw)
            guard input.bytes(magic.count) == magic,
                (0..<4).compactMap({ _ in input.u64() }) == [key.words.0, key.words.1, key.words.2, key.words.3],
                let ruleFiles = input.strings(), let artefacts = input.strings(), let templateCount = input.u32()
            else { return nil }
            var templates: [String: (ArgvTemplate, Discovery?)] = [:]
            for _ in 0..<templateCount {
                guard let rule = input.string(), let source = input.strings(),
                    let template = try? ArgvTemplate.parse(source), let discovery = input.strings()
                else { return nil }
                var discover: Discovery?
                if let format = discovery.first {
                    guard let known = Discovery.Format(rawValue: format),
                        let file = try? ArgvTemplate.parse(Array(discovery.dropFirst()))
                    else { return nil }
                    discover = Discovery(format: known, file: file)
                }
                templates[rule] = (template, discover)
            }
            guard let taskCount = input.u32(), taskCount <= raw.count else { return nil }
            var graph = BuildGraph()
            graph.reserveCapacity(artefacts: artefacts.count, tasks: taskCount)
            for path in artefacts { graph.intern(path) }
            let count = Int32(artefacts.count)
            // Consecutive tasks mostly share their rule and their file: one string each.
            var rule = "", file = ""
            for _ in 0..<taskCount {
                guard let name = input.string(), input.string(reusing: &rule),
                    let dependencies = input.ids(below: count),
                    let secondary = input.ids(below: count), let outputs = input.ids(below: count),
                    let stem = input.string(), let mainFile = input.string(), input.string(reusing: &file),
                    let line = input.u32(), let column = input.u32(), let fromPattern = input.u32(),
                    let (build, discovery) = templates[rule]
                else { return nil }
                graph.add(
                    BuildGraph.Task(
                        name: name, rule: rule, dependencies: dependencies, secondaryDependencies: secondary,
                        outputs: outputs, build: build, discovery: discovery, stem: stem, mainFile: mainFile,
                        location: SourceLocation(file: file, line: line, column: column), fromPattern: fromPattern == 1)
                )
            }
            guard let goals = input.ids(below: count), input.atEnd else { return nil }
            graph.goals = goals
            return (graph, ruleFiles)
        }
    }

    private struct Writer {
        var data: [UInt8] = []
        mutating func bytes(_ bytes: [UInt8]) { data += bytes }
        mutating func u32(_ value: Int) {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { data += $0 }
        }
        mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data += $0 } }
        mutating func string(_ text: String) {
            u32(text.utf8.count)
            data += text.utf8
        }
        mutating func strings(_ texts: [String]) {
            u32(texts.count)
            for text in texts { string(text) }
        }
        mutating func ids(_ ids: [Int32]) {
            u32(ids.count)
            for id in ids { u32(Int(id)) }
        }
    }

    private struct Reader {
        let raw: UnsafeRawBufferPointer
        var offset = 0
        init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }
        var atEnd: Bool { offset == raw.count }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            guard count >= 0, offset + count <= raw.count else { return nil }
            defer { offset += count }
            return Array(raw[offset..<offset + count])
        }
        mutating func u32() -> Int? {
            guard offset + 4 <= raw.count else { return nil }
            defer { offset += 4 }
            return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        mutating func u64() -> UInt64? {
            guard offset + 8 <= raw.count else { return nil }
            defer { offset += 8 }
            return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        mutating func string() -> String? {
            guard let count = u32(), offset + count <= raw.count else { return nil }
            defer { offset += count }
            return String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count]), as: UTF8.self)
        }
        /// Reads a string into `text`, keeping `text` (and its storage) when it is the same.
        mutating func string(reusing text: inout String) -> Bool {
            guard let count = u32(), offset + count <= raw.count else { return false }
            defer { offset += count }
            let bytes = UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count])
            if !text.utf8.elementsEqual(bytes) { text = String(decoding: bytes, as: UTF8.self) }
            return true
        }
        mutating func strings() -> [String]? {
            guard let count = u32(), count <= raw.count else { return nil }
            var result: [String] = []
            result.reserveCapacity(count)
            for _ in 0..<count {
                guard let text = string() else { return nil }
                result.append(text)
            }
            return result
        }
        mutating func ids(below limit: Int32) -> [Int32]? {
            guard let count = u32(), count <= raw.count else { return nil }
            var result: [Int32] = []
            result.reserveCapacity(count)
            for _ in 0..<count {
                guard let value = u32(), value < Int(limit) else { return nil }
                result.append(Int32(value))
            }
            return result
        }
    }
}
