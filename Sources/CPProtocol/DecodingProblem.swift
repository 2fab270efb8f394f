import Foundation

/// One line for a body that does not decode: what is missing or of the wrong kind, by its
/// path in the JSON ("missing 'chefName'", "'theRule.outputs' is not Array<String>"), for a
/// `failed.<subject>` reply or a REST 400.
public enum DecodingProblem {
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            if context.codingPath.isEmpty { return "not JSON" + (underlying.map { ": \($0)" } ?? "") }
            return prefix(context) + (underlying.map { "not JSON: \($0)" } ?? context.debugDescription)
        case .keyNotFound(let key, let context):
            let inside = path(context)
            return "missing '\(inside.isEmpty ? key.stringValue : inside + "." + key.stringValue)'"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return context.codingPath.isEmpty ? "not \(name(of: type))" : "'\(path(context))' is not \(name(of: type))"
        @unknown default: return "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: ".")
    }

    private static func prefix(_ context: DecodingError.Context) -> String {
        path(context).isEmpty ? "" : "'\(path(context))': "
    }

    /// A type as a person reads it: "a string", "a number", "a list".
    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt64.Type, is Double.Type: return "a number"
        case is [String].Type: return "a list of strings"
        case is [String: Any].Type: return "a JSON object"
        default: return "\(type)"
        }
    }
}
