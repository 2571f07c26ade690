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

    /// Every value of a repeated query parameter (`name[]=a&name[]=b`), in order; empty when
    /// absent (same validity as ``header(_:)``). libmicrohttpd has percent-decoded them.
    public func queryParameters(_ name: String) -> [String] {
        var found = (name: name, values: [String]())
        _ = withUnsafeMutablePointer(to: &found) { found in
            MHD_get_connection_values(connection, MHD_ValueKind.GET_ARGUMENT_KIND, { context, _, key, value in
                let found = context!.assumingMemoryBound(to: (name: String, values: [String]).self)
                if let key, let value, String(cString: key) == found.pointee.name {
                    found.pointee.values.append(String(cString: value))
                }
                return MHD_Result.YES
            }, found)
        }
        return found.values
    }
}
