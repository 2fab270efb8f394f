import CPProtocol
import Foundation
import Hummingbird
import MajorDomo

/// JSON in and out of the REST API: bodies read with a size limit and decoded with a message a
/// person can act on, replies encoded with sorted keys, errors as `{"error": {"message"}}`.
enum JSONBody {
    /// The most a request body may hold.
    static let limit = 1 << 20

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The request's body decoded as `T`; a 400 that says what is wrong otherwise.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: limit)
        let data = Data(buffer.readableBytesView)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw HTTPError(
                .badRequest, message: "the body is not the JSON expected: \(DecodingProblem.describe(error))")
        }
    }

    /// A reply with `status` and `value` as JSON.
    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"error": {"message": …}}` with `status`.
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        (try? response(ErrorReply(error: .init(message: message)), status: status))
            ?? Response(status: status)
    }
}

/// The error body of every failed request.
struct ErrorReply: Codable {
    struct Detail: Codable { var message: String }
    var error: Detail
}

/// Every error a handler throws, as the JSON error body with its status: the core's errors by
/// kind, Hummingbird's own (404 for an unknown route, 405 with `Allow` for a known path asked
/// with another method, 413 for a body too large), and anything else as a 500 whose message
/// is logged.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let methods: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as MajorDomoError {
            return JSONBody.error(Self.status(of: error), error.description)
        } catch let error as HTTPError {
            if error.status == .notFound && error.body == nil {
                let allowed = methods.allowed(request.uri.path).map(\.rawValue)
                guard allowed.isEmpty else {
                    var response = JSONBody.error(
                        .methodNotAllowed,
                        "\(request.method.rawValue) is not allowed on \(request.uri.path): use "
                            + allowed.joined(separator: " or "))
                    response.headers[.allow] = allowed.joined(separator: ", ")
                    return response
                }
                return JSONBody.error(.notFound, "no route \(request.method.rawValue) \(request.uri.path)")
            }
            return JSONBody.error(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as any HTTPResponseError {
            let message =
                error.status == .contentTooLarge
                ? "the body is larger than \(JSONBody.limit) bytes" : error.status.reasonPhrase
            return JSONBody.error(error.status, message)
        } catch {
            context.logger.error("\(request.method.rawValue) \(request.uri.path) failed: \(error)")
            return JSONBody.error(.internalServerError, "the MajorDomo failed: \(error)")
        }
    }

    static func status(of error: MajorDomoError) -> HTTPResponse.Status {
        switch error {
        case .badRequest: return .badRequest
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .unprocessable: return .unprocessableContent
        case .failure: return .internalServerError
        }
    }
}

/// Every request must carry `Authorization: Bearer TOKEN` (a MajorDomo listening beyond
/// loopback); compared in constant time, so the time taken says nothing of the token.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let given = request.headers[.authorization].map { Array($0.utf8) } ?? []
        let expected = Array("Bearer ".utf8) + token
        guard Self.equal(given, expected) else {
            var response = JSONBody.error(
                .unauthorized, "this MajorDomo needs 'Authorization: Bearer TOKEN' (its --token-file)")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// Compares every byte whatever differs first (only the lengths may differ early).
    static func equal(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
