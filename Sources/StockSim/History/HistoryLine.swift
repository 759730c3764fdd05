/// One line of a history file: the optional header (first line), an order event, or the optional closing line
/// with the final stock (last line). Decoded in one place, `init(from:)`, by its `type` field.
public enum HistoryLine: Sendable, Hashable, Codable {
    /// `{"type":"header",…}`: the initial (and maybe final) stock.
    case header(HistoryHeader)
    /// `{"type":"invoke"|"ok"|"fail"|"info",…}`: an order event.
    case event(HistoryEvent)
    /// `{"type":"end","final":{"stock:count":0}}`: the final stock per key, read after the run.
    case end(final: [String: Int64])

    private enum CodingKeys: String, CodingKey {
        case type, final
    }

    private static let headerType = "header"
    private static let endType = "end"

    /// Decodes a line by its `type`.
    /// - Throws: `DecodingError` when the line is not one of the three shapes.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case Self.headerType:
            let header = try HistoryHeader(from: decoder)
            guard header.version == HistoryHeader.currentVersion else {
                throw DecodingError.dataCorruptedError(
                    forKey: .type, in: container,
                    debugDescription:
                        "a header of history format version \(header.version); this stocksim reads version \(HistoryHeader.currentVersion)"
                )
            }
            self = .header(header)
        case Self.endType:
            self = .end(final: try container.decode([String: Int64].self, forKey: .final))
        default:
            guard HistoryEvent.Kind(rawValue: type) != nil else {
                throw DecodingError.dataCorruptedError(
                    forKey: .type, in: container,
                    debugDescription:
                        "unknown type \"\(type)\" (expected header, invoke, ok, fail, info or end)")
            }
            self = .event(try HistoryEvent(from: decoder))
        }
    }

    /// Encodes the line with its `type`.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .header(let header):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Self.headerType, forKey: .type)
            try header.encode(to: encoder)
        case .event(let event):
            try event.encode(to: encoder)
        case .end(let final):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Self.endType, forKey: .type)
            try container.encode(final, forKey: .final)
        }
    }
}
