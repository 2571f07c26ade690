// Free loopback ports for test servers that cannot report the port they bound (Prometheus,
// the Pushgateway).
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public enum LoopbackPort {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Ports `free()` handed out: the kernel can give the same ephemeral port to two bind(0)
    /// calls once the first socket is closed, and tests run in parallel.
    private static let issued = Mutex<Set<Int>>([])

    /// A loopback port nothing listens on now, never handed out twice in this test run.
    public static func free() throws -> Int {
        for _ in 0..<100 {
            let port = try unused()
            if issued.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw Failure(description: "no free port left that this test run has not handed out")
    }

    private static func unused() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
