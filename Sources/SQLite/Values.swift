import CSQLite

/// A value bound to a statement's `?`.
public enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null

    /// SQLite copies what it is given (`SQLITE_TRANSIENT`), so the Swift value may go.
    func bind(to statement: OpaquePointer, at position: Int32) -> Int32 {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        switch self {
        case .integer(let number): return sqlite3_bind_int64(statement, position, number)
        case .real(let number): return sqlite3_bind_double(statement, position, number)
        case .text(let text): return sqlite3_bind_text(statement, position, text, -1, transient)
        case .blob(let bytes):
            return bytes.withUnsafeBytes {
                sqlite3_bind_blob(statement, position, $0.baseAddress, Int32(bytes.count), transient)
            }
        case .null: return sqlite3_bind_null(statement, position)
        }
    }
}

/// The row a query is on; valid only inside the closure that reads it.
public struct Row {
    let statement: OpaquePointer

    /// Whether column `index` is NULL.
    public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(statement, index) == SQLITE_NULL }

    public func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(statement, index) }

    public func double(_ index: Int32) -> Double { sqlite3_column_double(statement, index) }

    /// Column `index` as text; nil when NULL.
    public func text(_ index: Int32) -> String? {
        sqlite3_column_text(statement, index).map { String(cString: $0) }
    }

    /// Column `index`'s bytes, without a copy; nil unless it is a blob. Valid until the row moves.
    public func blob(_ index: Int32) -> UnsafeRawBufferPointer? {
        guard sqlite3_column_type(statement, index) == SQLITE_BLOB else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        guard let bytes = sqlite3_column_blob(statement, index) else {
            return count == 0 ? UnsafeRawBufferPointer(start: nil, count: 0) : nil
        }
        return UnsafeRawBufferPointer(start: bytes, count: count)
    }
}
