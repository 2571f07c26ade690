/// Delivers the response to one request, now or later, from any thread.
///
/// A handler that answers at once calls ``respond(_:)`` before returning. A handler that
/// answers later (after a delay, or when a queue lets it) keeps the responder and calls it then;
/// meanwhile the connection is suspended and holds no server thread.
public protocol HTTPResponder: Sendable {
    /// Sends `response`. Only the first call counts.
    func respond(_ response: HTTPResponse)
}

/// A request handler: answers through the responder, now or later.
public typealias HTTPHandler = @Sendable (HTTPRequest, any HTTPResponder) -> Void
