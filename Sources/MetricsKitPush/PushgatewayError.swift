/// Why a push to (or a delete from) a Pushgateway failed.
///
/// The ``description`` says what happened in words, for example
/// `Pushgateway answered 400 Bad Request to PUT /metrics/job/backup: pushed metrics are invalid or inconsistent with existing metrics: ...`.
public struct PushgatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: String, Sendable, Equatable {
        /// The URL, job name or a grouping label is not usable (found when the client is made).
        case invalidConfiguration
        /// A series to push already carries the `job` label or a grouping label, which the
        /// Pushgateway would set itself; nothing was sent.
        case conflictingLabel
        /// The gateway could not be reached: name lookup, connect or send failed.
        case connectionFailed
        /// The timeout passed before the gateway answered.
        case timedOut
        /// The gateway answered something that is not HTTP/1.x.
        case invalidResponse
        /// The gateway answered with a status other than 2xx; see ``status`` and ``body``.
        case unexpectedStatus
    }

    /// What kind of failure this is.
    public let kind: Kind
    /// What happened, in words.
    public let message: String
    /// The HTTP status the gateway answered with (``Kind/unexpectedStatus`` only).
    public let status: Int?
    /// The body of the gateway's answer (``Kind/unexpectedStatus`` only): the gateway says
    /// there why it refused the push.
    public let body: String?
    /// The metric concerned (``Kind/conflictingLabel`` only).
    public let metric: String?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, status: Int? = nil, body: String? = nil, metric: String? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.body = body
        self.metric = metric
    }

    /// The ``message``.
    public var description: String { message }
}
