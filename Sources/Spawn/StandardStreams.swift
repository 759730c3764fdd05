#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Descriptors 0, 1 and 2 as a process must find them.
public enum StandardStreams {
    /// Opens each of descriptors 0, 1 and 2 that is closed on `/dev/null`. Call it first thing in `main`: a process
    /// started with `2>&-` would otherwise give descriptor 2 to the first file or socket it opens (a Redis
    /// connection, say), and text meant for stderr would go there.
    ///
    /// - Returns: the descriptors that were closed and are now on `/dev/null`.
    @discardableResult
    public static func reopenClosedOnDevNull() -> [Int32] {
        var reopened: [Int32] = []
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            // open returns the lowest free descriptor: this one, as the lower ones are open by now.
            let opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0, opened != fd {
                _ = dup2(opened, fd)
                _ = close(opened)
            }
            reopened.append(fd)
        }
        return reopened
    }
}
