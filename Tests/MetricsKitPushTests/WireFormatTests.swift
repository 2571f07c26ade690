import Testing

@testable import MetricsKitPush

/// The pieces a real gateway exercises only in part: base64 test vectors, the path of a
/// group, and answers the gateway does not send (chunked, malformed).
@Suite("Pushgateway client: wire format")
struct WireFormatTests {
    @Test func base64MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
                       "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8), urlSafe: false) == encoded)
            #expect(Base64.encode(Array(plain.utf8), urlSafe: true) == encoded.replacingOccurrences(of: "=", with: ""))
        }
        // The URL-safe alphabet: 0xfb 0xff encode to "+/8" in the standard one.
        #expect(Base64.encode([0xfb, 0xff], urlSafe: false) == "+/8=")
        #expect(Base64.encode([0xfb, 0xff], urlSafe: true) == "-_8")
    }

    @Test func groupPathsAreSortedAndEncoded() {
        #expect(GroupingKey.path(job: "j", grouping: ["b": "2", "a": "1"]) == "/metrics/job/j/a/1/b/2")
        #expect(GroupingKey.segment("l", "") == "/l@base64/=")
        #expect(GroupingKey.segment("l", "a/b") == "/l@base64/YS9i")
        #expect(GroupingKey.segment("l", "a b") == "/l/a%20b")
        #expect(GroupingKey.segment("l", "ü") == "/l/%C3%BC")
    }

    @Test func parsesChunkedAndLengthDelimitedAnswers() throws {
        let chunked = Array("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".utf8)
        let answer = try PlainHTTPClient.parse(chunked)
        #expect(answer.status == 400 && answer.reason == "Bad Request")
        #expect(String(decoding: answer.body, as: UTF8.self) == "hello world")
        let sized = try PlainHTTPClient.parse(Array("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nokTRAILING".utf8))
        #expect(String(decoding: sized.body, as: UTF8.self) == "ok")
    }

    @Test func refusesWhatIsNotHTTP() {
        #expect(throws: PlainHTTPFailure.self) { try PlainHTTPClient.parse(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)) }
        #expect(throws: PlainHTTPFailure.self) { try PlainHTTPClient.parse(Array("HTTP/1.1 200 OK\r\nContent-".utf8)) }
        #expect(throws: PlainHTTPFailure.self) {
            try PlainHTTPClient.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8))
        }
    }

    /// A hostile or broken answer is an error, never a trap in the batch job.
    @Test func signedOrHugeLengthsAreRefusedNotTrapped() throws {
        for size in ["-5", "7fffffffffffffff", "-0x1"] {
            #expect(throws: PlainHTTPFailure.self) {
                try PlainHTTPClient.parse(
                    Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nab\r\n0\r\n\r\n".utf8))
            }
        }
        // A negative Content-Length is ignored: the body is what arrived.
        let negative = try PlainHTTPClient.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok".utf8))
        #expect(negative.status == 200 && negative.body == Array("ok".utf8))
    }
}
