#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener on 127.0.0.1 that never accepts: it holds a port (so nobody else can bind it) and, with
/// ``fillAcceptQueue()``, makes the kernel drop every further SYN, so a client's connect hangs until its own timeout.
/// Nothing leaves the machine.
final class LoopbackListener {
    let port: Int
    private var descriptors: [Int32] = []

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// - Parameter port: the port to hold; `0` picks a free one.
    init(port: Int = 0) throws {
        let listener = try Self.socket()
        descriptors.append(listener)
        var reuse: Int32 = 1
        _ = setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(listener, socketAddress, length) == 0 && listen(listener, 0) == 0
                    && getsockname(listener, socketAddress, &length) == 0
            }
        }
        guard bound else {
            throw SetupError(description: "bind/listen 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// With a backlog of 0 Linux queues one finished handshake and drops the SYNs after it: two connects that are
    /// never accepted fill the queue for good.
    func fillAcceptQueue() throws {
        for _ in 0..<2 {
            let filler = try Self.socket()
            descriptors.append(filler)
            _ = fcntl(filler, F_SETFL, fcntl(filler, F_GETFL) | O_NONBLOCK)
            var target = Self.loopback(port: port)
            _ = withUnsafePointer(to: &target) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    connect(filler, socketAddress, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        usleep(50_000)  // let the first handshake finish
    }

    func close() {
        for descriptor in descriptors { _ = Glibc.close(descriptor) }
        descriptors = []
    }

    deinit { close() }

    private static func socket() throws -> Int32 {
        // Close-on-exec: a redis-server started meanwhile by another test must not inherit (and keep) the port.
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SetupError(description: "socket: \(String(cString: strerror(errno)))") }
        return descriptor
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// True when this machine has an IPv6 loopback (`::1`) to bind to; some containers have none.
let ipv6LoopbackAvailable: Bool = {
    let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(descriptor, socketAddress, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
        }
    }
}()
