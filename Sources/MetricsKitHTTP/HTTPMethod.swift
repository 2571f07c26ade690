/// An HTTP method, with the standard ones named. Anything else is `.other` and, in metrics,
/// shares one label value so hostile clients cannot invent series.
public enum HTTPMethod: Hashable, Sendable {
    case get, head, post, put, delete, patch, options, connect, trace
    case other(String)

    /// Parses a request line's method (case-sensitive, as HTTP says).
    public init(_ raw: String) {
        switch raw {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "DELETE": self = .delete
        case "PATCH": self = .patch
        case "OPTIONS": self = .options
        case "CONNECT": self = .connect
        case "TRACE": self = .trace
        default: self = .other(raw)
        }
    }

    /// The method as written on the wire.
    public var rawValue: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .patch: "PATCH"
        case .options: "OPTIONS"
        case .connect: "CONNECT"
        case .trace: "TRACE"
        case .other(let raw): raw
        }
    }

    /// The `method` label value: the method itself for standard methods, `OTHER` otherwise.
    public var labelValue: String {
        if case .other = self { return "OTHER" }
        return rawValue
    }
}
