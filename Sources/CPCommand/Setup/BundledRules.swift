import Foundation
import RulesManager

/// The rules a role loads when given none: those installed with `cp`.
enum BundledRules {
    /// The rules to load: those given, else the bundled ones (installed next to the binary in
    /// `../share/cp/rules`, or `rules/` of the source tree it was built in).
    static func resolve(_ given: [String]) throws -> [String] {
        if !given.isEmpty { return given }
        if let bundled = directory() { return [bundled] }
        throw DefinitionError(
            what: "rules", file: "--rules",
            "none given, and no bundled rules next to cp (share/cp/rules): give --rules DIR")
    }

    /// The bundled rules' directory, if there is one.
    static func directory() -> String? {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (executable as NSString).deletingLastPathComponent
        var candidates: [String] = []
        for _ in 0..<4 {
            candidates.append(directory + "/share/cp/rules")
            candidates.append(directory + "/rules")
            directory = (directory as NSString).deletingLastPathComponent
        }
        return candidates.first { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) && isDirectory.boolValue
                && FileManager.default.fileExists(atPath: candidate + "/latex.ryml")
        }
    }
}
