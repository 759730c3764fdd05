import Foundation

/// How demand spreads over the SKUs of a group.
public enum Skew: Sendable, Hashable, Codable, CustomStringConvertible {
    case uniform
    /// Zipf with exponent `s`: the SKU of rank r is chosen with weight 1 / r^s (hot items).
    case zipf(Double)

    /// Parses `uniform` or `zipf:S`.
    ///
    /// - Throws: `ConfigurationError` naming the accepted forms.
    public init(parsing text: String) throws(ConfigurationError) {
        if text == "uniform" {
            self = .uniform
            return
        }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "zipf", let s = Double(parts[1]), s > 0, s.isFinite else {
            throw ConfigurationError("skew '\(text)' should be uniform or zipf:S with S > 0, as in zipf:1.1")
        }
        self = .zipf(s)
    }

    public var description: String {
        switch self {
        case .uniform: "uniform"
        case .zipf(let s): "zipf:\(s)"
        }
    }

    /// Draws `count` distinct SKUs from `candidates` (in rank order), weighted by the skew.
    func draw(_ count: Int, from candidates: [Int], using random: inout some RandomNumberGenerator) -> [Int] {
        var pool = candidates
        var chosen: [Int] = []
        while chosen.count < count, !pool.isEmpty {
            let index: Int
            switch self {
            case .uniform:
                index = Int.random(in: 0..<pool.count, using: &random)
            case .zipf(let s):
                let weights = pool.indices.map { 1 / pow(Double($0 + 1), s) }
                var target = Double.random(in: 0..<weights.reduce(0, +), using: &random)
                var pick = pool.count - 1
                for (i, weight) in weights.enumerated() {
                    if target < weight {
                        pick = i
                        break
                    }
                    target -= weight
                }
                index = pick
            }
            chosen.append(pool.remove(at: index))
        }
        return chosen
    }
}
