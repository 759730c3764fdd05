import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The output files of a sweep, checked before its first run: minutes of runs must not end in a file that cannot be
/// written, or in one output overwriting another.
enum OutputPaths {
    /// Refuses a path whose directory is missing or not writable, a path that is a directory or a file that cannot
    /// be opened for writing, and two flags that name the same file (after resolving `..`, symbolic links and hard
    /// links).
    ///
    /// - Parameter outputs: the flags and their paths.
    /// - Throws: `ValidationError` (exit status 64) naming the flag, the path and what to do.
    static func check(_ outputs: [(flag: String, path: String)]) throws(ValidationError) {
        var seen: [String: (flag: String, path: String)] = [:]
        for (flag, path) in outputs {
            let url = URL(fileURLWithPath: path)
            let directory = url.deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw ValidationError(
                    "\(flag) \(path): the directory \(directory) does not exist; create it or choose another path")
            }
            guard access(directory, W_OK) == 0 else {
                throw ValidationError(
                    "\(flag) \(path): the directory \(directory) is not writable; choose another path")
            }
            var status = stat()
            let identity: String
            if stat(path, &status) == 0 {
                if (status.st_mode & S_IFMT) == S_IFDIR {
                    throw ValidationError("\(flag) \(path) is a directory; give a file name")
                }
                // Opened without truncating or creating: the file stays as it is until the sweep writes it.
                let fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK)
                guard fd >= 0 else {
                    throw ValidationError(
                        "\(flag) \(path) cannot be written (\(String(cString: strerror(errno)))); choose another path")
                }
                close(fd)
                identity = "inode \(status.st_dev):\(status.st_ino)"
            } else {
                let resolved = realpath(directory, nil).map { pointer in
                    defer { free(pointer) }
                    return String(cString: pointer)
                }
                identity = "path \(resolved ?? directory)/\(url.lastPathComponent)"
            }
            if let earlier = seen[identity] {
                throw ValidationError(
                    "\(earlier.flag) \(earlier.path) and \(flag) \(path) are the same file; give each output its own path"
                )
            }
            seen[identity] = (flag, path)
        }
    }
}
