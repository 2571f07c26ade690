/// A response: status, headers and body.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields, in order.
    public var headers: [(name: String, value: String)]
    /// The body (not sent for `HEAD`).
    public var body: [UInt8]
    /// A ready-made libmicrohttpd response for the same content, reused across requests.
    let preparedObject: PreparedResponse?

    /// Creates a response.
    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.preparedObject = nil
    }

    /// Makes this response reusable: the server builds it once and queues the same object for
    /// every request, which saves an allocation and a copy per request (probes, fixed pages).
    public func prepared() -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: body, prepared: PreparedResponse(self))
    }

    private init(status: Int, headers: [(name: String, value: String)], body: [UInt8], prepared: PreparedResponse) {
        self.status = status
        self.headers = headers
        self.body = body
        self.preparedObject = prepared
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }
}
