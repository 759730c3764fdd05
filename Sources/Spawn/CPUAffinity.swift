import CSpawn

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which CPUs the calling thread, and the processes it starts, may run on. A child inherits its parent's mask through
/// fork and posix_spawn, and a forked worker its server's, so a process pinned before it starts a tree pins the tree.
public enum CPUAffinity {
    /// The CPUs the calling thread may run on, lowest first; empty where the system cannot say (not Linux).
    public static func allowed() -> [Int] {
        var cpus = [Int32](repeating: 0, count: 1024)
        let count = cpus.withUnsafeMutableBufferPointer { cspawn_allowed_cpus($0.baseAddress, Int32($0.count)) }
        return count > 0 ? cpus.prefix(Int(count)).map(Int.init) : []
    }

    /// Restricts the calling thread, and every process it starts from now on, to `cpus`.
    ///
    /// - Throws: `ChildProcess.SpawnError` when the system refuses (a CPU this process may not use, or not Linux).
    public static func runOn(_ cpus: [Int]) throws(ChildProcess.SpawnError) {
        let list = cpus.map { Int32($0) }
        guard !list.isEmpty, list.withUnsafeBufferPointer({ cspawn_run_on_cpus($0.baseAddress, Int32($0.count)) }) == 0
        else {
            let number = cpus.isEmpty ? EINVAL : errno
            throw ChildProcess.SpawnError(
                message: "cannot run on CPUs \(cpus.map(String.init).joined(separator: ",")): "
                    + String(cString: strerror(number)), errno: number)
        }
    }
}
