public import Foundation

/// A document with a stable JSON form (`stocksim run --json`, `stocksim sweep --json`): keys in snake_case, sorted,
/// pretty-printed; fields are added, never renamed or removed, within a `schema_version`.
public protocol JSONDocument: Codable {}

extension JSONDocument {
    /// The JSON document, keys in snake_case, sorted, pretty-printed.
    ///
    /// - Throws: `EncodingError` when a value cannot be encoded.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a JSON document written by ``json()``.
    ///
    /// - Throws: `DecodingError` when `data` is not such a document.
    public static func decode(_ data: Data) throws -> Self {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Self.self, from: data)
    }
}
