/// The optional first line of a history: what the checker needs beyond the events. JSON:
/// `{"type":"header","version":1,"initial":{"stock:count":100},"final":{"stock:count":0}}`; `final` may be left
/// out here and given by a closing `{"type":"end","final":{…}}` line instead, since a writer learns it last.
public struct HistoryHeader: Sendable, Hashable, Codable {
    /// The format's version: 1.
    public var version: Int
    /// The initial stock per key, when the writer knows it.
    public var initial: [String: Int64]?
    /// The final stock per key, when the writer knows it.
    public var final: [String: Int64]?

    /// The history format this code reads and writes.
    public static let currentVersion = 1

    /// A header.
    /// - Parameters:
    ///   - initial: The initial stock per key.
    ///   - final: The final stock per key, if known when the header is written.
    public init(initial: [String: Int64]?, final: [String: Int64]? = nil) {
        self.version = Self.currentVersion
        self.initial = initial
        self.final = final
    }
}
