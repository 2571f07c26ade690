import CMicroHTTPD

/// A request as a handler sees it.
// @unchecked: every field is immutable; `connection` is libmicrohttpd's and is dereferenced only
// by header(_:) and queryParameter(_:), which are valid only while the handler runs on the
// server's thread (as documented there), when libmicrohttpd keeps the connection alive.
public struct HTTPRequest: @unchecked Sendable {
    /// The method.
    public let method: HTTPMethod
    /// The URL path, without the query string.
    public let path: String
    let connection: OpaquePointer

    /// The value of a request header (case-insensitive name), or nil.
    ///
    /// Valid only while the handler runs on the server's thread, not from a delayed response.
    public func header(_ name: String) -> String? {
        guard let value = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, name) else { return nil }
        return String(cString: value)
    }

    /// The value of a query parameter, or nil (same validity as ``header(_:)``).
    public func queryParameter(_ name: String) -> String? {
        guard let value = MHD_lookup_connection_value(connection, MHD_ValueKind.GET_ARGUMENT_KIND, name) else { return nil }
        return String(cString: value)
    }
}
