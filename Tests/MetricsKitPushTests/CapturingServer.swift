import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback listener that records the requests it gets and answers each with a fixed
/// response, or, with `answer: nil`, never accepts (the connection waits in the backlog): for
/// what a real gateway cannot show, the exact request bytes and a gateway that hangs.
final class CapturingServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private final class Log: Sendable { let requests = Mutex<[String]>([]) }
    private let log = Log()
    private let thread: Thread?

    init(answer: String?) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 && listen(fd, 8) == 0
            }
        }
        guard bound else { throw PushgatewayProcess.Failure(description: "cannot listen on loopback") }
        port = Int(UInt16(bigEndian: address.sin_port))
        guard let answer else {
            thread = nil
            return
        }
        let log = self.log
        let thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var data: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                // Read the head and the body its Content-Length announces.
                while true {
                    let n = read(client, &buffer, buffer.count)
                    if n <= 0 { break }
                    data += buffer[0..<n]
                    let text = String(decoding: data, as: UTF8.self)
                    if let end = text.range(of: "\r\n\r\n") {
                        let head = text[..<end.lowerBound].lowercased()
                        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                            .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                        if text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound.samePosition(in: text.utf8)!)
                            + length <= data.count
                        { break }
                    }
                }
                log.requests.withLock { $0.append(String(decoding: data, as: UTF8.self)) }
                _ = answer.withCString { write(client, $0, strlen($0)) }
                close(client)
            }
        }
        self.thread = thread
        thread.start()
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// The requests received so far, head and body as text.
    var received: [String] { log.requests.withLock { $0 } }
}
