import Foundation

extension UserScript {
    /// Reads the script at `path` (`--script FILE.lua`).
    ///
    /// - Throws: `ConfigurationError` when the file cannot be read.
    public init(path: String) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the script \(path): check that the file exists and is readable")
        }
        self.init(path: path, source: String(decoding: data, as: UTF8.self))
    }
}
