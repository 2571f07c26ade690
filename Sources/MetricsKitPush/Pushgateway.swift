import MetricsKit

/// Pushes a registry's metrics to a Prometheus Pushgateway, for batch jobs that end before
/// Prometheus could scrape them.
///
/// ```swift
/// let registry = MetricRegistry()
/// let rows = try registry.counter("backup_rows_total", help: "Rows backed up.")
/// // ... the job's work, counting rows ...
/// let gateway = try Pushgateway(url: "http://pushgateway:9091", job: "nightly_backup",
///                               grouping: ["instance": "db-1"])
/// try gateway.push(registry)     // PUT: replaces the group's metrics
/// ```
///
/// The group is the job and the grouping labels: `/metrics/job/<job>{/<label>/<value>}`. A
/// value with `/` in it, and an empty value, are sent base64-encoded (`<label>@base64/<value>`)
/// as the Pushgateway API says, so any value arrives unchanged.
///
/// - ``push(_:)`` (PUT) replaces every metric of the group with the registry's.
/// - ``add(_:)`` (POST) replaces only the metrics of the same names in the group.
/// - ``delete()`` (DELETE) removes the group.
///
/// The body is delimited protobuf by default, text 0.0.4 on request (``Format``). A series
/// that already carries the `job` label or a grouping label is refused before anything is sent
/// (``PushgatewayError/Kind/conflictingLabel``), as client_golang does. Every call blocks the
/// calling thread until the gateway answered or ``timeout`` passed; a gateway's refusal is a
/// ``PushgatewayError`` naming the HTTP status and carrying the gateway's body.
///
/// It speaks plain HTTP/1.1 over a socket of its own (no URLSession, so no libcurl on Linux):
/// `http://` URLs only.
public struct Pushgateway: Sendable {
    /// The body format of a push.
    public enum Format: Sendable, Equatable {
        /// Delimited protobuf (`io.prometheus.client.MetricFamily`), what the Pushgateway reads
        /// natively; carries native histograms.
        case protobuf
        /// Prometheus text format 0.0.4.
        case text

        var exposition: ExpositionFormat { self == .protobuf ? .protobuf : .prometheusText }
    }

    /// Credentials sent with every request.
    public enum Authorization: Sendable, Equatable {
        /// HTTP basic authentication (`Authorization: Basic <base64 of user:password>`).
        case basic(username: String, password: String)
        /// A bearer token (`Authorization: Bearer <token>`).
        case bearer(String)

        var headerValue: String {
            switch self {
            case .basic(let username, let password): "Basic " + Base64.encode(Array("\(username):\(password)".utf8), urlSafe: false)
            case .bearer(let token): "Bearer " + token
            }
        }
    }

    /// The job name (the `job` label of every pushed series).
    public let job: String
    /// The grouping labels besides `job`.
    public let grouping: [String: String]
    /// The body format of pushes.
    public let format: Format
    /// The credentials, if any.
    public let authorization: Authorization?
    /// How long one request may take in all: connect, send and answer (the host name is
    /// resolved by the system resolver first, with its own timeouts).
    public let timeout: Duration
    /// The request path of the group, such as `/metrics/job/backup/instance/db-1`.
    public let path: String

    private let host: String
    private let port: Int

    /// Creates a client for one group on one gateway; nothing is sent yet.
    /// - Parameters:
    ///   - url: the gateway, `http://host[:port][/prefix]` (port 80 when not given; the
    ///     Pushgateway's usual one is 9091). `host:port` alone means `http://host:port`.
    ///   - job: the job name; not empty.
    ///   - grouping: more grouping labels; names `[a-zA-Z_][a-zA-Z0-9_]*`, not `job`, not
    ///     starting with `__`. Values may be anything, empty too.
    ///   - format: the body format (default ``Format/protobuf``).
    ///   - authorization: credentials for a gateway behind authentication.
    ///   - timeout: the most one request may take (default 10 seconds; at most a day).
    /// - Throws: ``PushgatewayError`` of kind ``PushgatewayError/Kind/invalidConfiguration``.
    public init(
        url: String, job: String, grouping: [String: String] = [:], format: Format = .protobuf,
        authorization: Authorization? = nil, timeout: Duration = .seconds(10)
    ) throws(PushgatewayError) {
        guard !job.isEmpty else { throw PushgatewayError(.invalidConfiguration, "the job name must not be empty") }
        for name in grouping.keys.sorted() {
            guard Names.isValidLabelName(name), !name.hasPrefix("__") else {
                throw PushgatewayError(.invalidConfiguration, "grouping label \"\(name)\" is not a valid label name")
            }
            guard name != "job" else {
                throw PushgatewayError(.invalidConfiguration, "\"job\" is not a grouping label: pass it as job:")
            }
        }
        guard timeout > .zero, timeout <= .seconds(86_400) else {
            throw PushgatewayError(.invalidConfiguration, "the timeout must be positive and at most a day")
        }
        // A line break in a header value would end the header and start another.
        if let authorization, authorization.headerValue.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw PushgatewayError(.invalidConfiguration, "the credentials contain a control character")
        }
        let target = try Self.parse(url)
        self.host = target.host
        self.port = target.port
        self.job = job
        self.grouping = grouping
        self.format = format
        self.authorization = authorization
        self.timeout = timeout
        self.path = target.prefix + GroupingKey.path(job: job, grouping: grouping)
    }

    /// Replaces every metric of the group with `registry`'s (HTTP PUT).
    public func push(_ registry: MetricRegistry) throws(PushgatewayError) {
        try send("PUT", registry)
    }

    /// Replaces the group's metrics that have the same names as `registry`'s, keeping the
    /// others (HTTP POST).
    public func add(_ registry: MetricRegistry) throws(PushgatewayError) {
        try send("POST", registry)
    }

    /// Removes the group and all its metrics from the gateway (HTTP DELETE).
    public func delete() throws(PushgatewayError) {
        try request("DELETE", body: [], contentType: nil)
    }

    private func send(_ method: String, _ registry: MetricRegistry) throws(PushgatewayError) {
        let reserved = Set(["job"] + grouping.keys)
        if let match = registry.firstSeries(withLabelNamedAnyOf: reserved) {
            let what = match.label == "job" ? "a job label" : "the grouping label \"\(match.label)\""
            throw PushgatewayError(
                .conflictingLabel, "metric \"\(match.metric)\" ({\(match.series)}) already carries \(what); "
                    + "the Pushgateway sets it from the group", metric: match.metric)
        }
        var body: [UInt8] = []
        registry.render(format.exposition, into: &body)
        try request(method, body: body, contentType: format.exposition.contentType)
    }

    private func request(_ method: String, body: [UInt8], contentType: String?) throws(PushgatewayError) {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let authorization { headers.append(("Authorization", authorization.headerValue)) }
        let response: PlainHTTPResponse
        do {
            response = try PlainHTTPClient.exchange(
                method: method, host: host, port: port, path: path, headers: headers, body: body, timeout: timeout)
        } catch {
            let target = "\(method) \(path) on \(host):\(port)"
            switch error {
            case .connection(let what): throw PushgatewayError(.connectionFailed, "\(target): \(what)")
            case .timedOut(let step): throw PushgatewayError(.timedOut, "\(target): timed out after \(timeout) \(step)")
            case .malformed(let what): throw PushgatewayError(.invalidResponse, "\(target): \(what)")
            }
        }
        guard (200..<300).contains(response.status) else {
            let text = String(decoding: response.body, as: UTF8.self)
            throw PushgatewayError(
                .unexpectedStatus,
                "Pushgateway answered \(response.status) \(response.reason) to \(method) \(path): "
                    + (text.isEmpty ? "(empty body)" : text.trimmingSuffix(while: { $0 == "\n" })),
                status: response.status, body: text)
        }
    }

    /// Splits `http://host[:port][/prefix]` (the scheme optional).
    private static func parse(_ url: String) throws(PushgatewayError) -> (host: String, port: Int, prefix: String) {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") {
            guard rest[..<scheme.lowerBound].lowercased() == "http" else {
                throw PushgatewayError(
                    .invalidConfiguration,
                    "\(url): only http:// is supported (reach a TLS gateway through a local proxy)")
            }
            rest = rest[scheme.upperBound...]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        // The prefix goes into the request line as it is: no space, control character, query or
        // fragment (they would end the line or change what the gateway reads).
        if let bad = prefix.utf8.first(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            throw PushgatewayError(
                .invalidConfiguration,
                "\(url): the path may not contain byte 0x\(String(bad, radix: 16)) (percent-encode it; no query or fragment)")
        }
        var host = authority
        var port = 80
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()) else {
                    throw PushgatewayError(.invalidConfiguration, "\(url): the port is not a number")
                }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let number = Int(authority[authority.index(after: colon)...]) else {
                throw PushgatewayError(.invalidConfiguration, "\(url): the port is not a number")
            }
            port = number
        }
        guard !host.isEmpty, !host.contains("@"), !host.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw PushgatewayError(.invalidConfiguration, "\(url): no host (credentials go in authorization:)")
        }
        guard (1...65535).contains(port) else {
            throw PushgatewayError(.invalidConfiguration, "\(url): port \(port) is out of range")
        }
        return (String(host), port, prefix)
    }
}

extension StringProtocol {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = String(self)
        while let last = text.last, predicate(last) { text.removeLast() }
        return text
    }
}
