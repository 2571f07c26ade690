import CMicroHTTPD

/// A libmicrohttpd response object built once and queued many times (MHD reference-counts it).
// @unchecked: `pointer` never changes, and libmicrohttpd reference-counts a response under its
// own mutex, so many connections on many threads may queue the same object at once.
final class PreparedResponse: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ response: HTTPResponse) {
        pointer = MHDResponse.make(response, closeConnection: false)
    }

    deinit { MHD_destroy_response(pointer) }
}

/// Building libmicrohttpd responses.
enum MHDResponse {
    static func make(_ response: HTTPResponse, closeConnection: Bool) -> OpaquePointer {
        let pointer = response.body.withUnsafeBytes { body in
            MHD_create_response_from_buffer(
                body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), MHD_ResponseMemoryMode.RESPMEM_MUST_COPY)!
        }
        for header in response.headers { MHD_add_response_header(pointer, header.name, header.value) }
        if closeConnection { MHD_add_response_header(pointer, "Connection", "close") }
        return pointer
    }
}
