public import Hiredis

/// Contract v1 of a user's own Lua script (`--strategy script`, wired in a coming change): the reply StockSim
/// understands. The README's "Your own Lua script" is the specification.
///
/// Called as `EVALSHA sha N+2 KEY1…KEYN LEDGER RUN UNITS1…UNITSN ORDER` (with a ledger) or `EVALSHA sha N KEY1…KEYN
/// UNITS1…UNITSN ORDER` (without): the script tells the two apart by `#KEYS == #ARGV + 1`.
public enum SaleScriptReply: Sendable, Hashable {
    /// `{"sold", left1, …, leftN}`: every line taken; the stock left on each key.
    case sold(stockLeft: [Int64])
    /// `{"refused", left1, …, leftN}`: some key had fewer units than asked; nothing taken; what each key holds.
    case refused(stockLeft: [Int64])
    /// `{"recorded"}`: the order id is already in the ledger (a resent order); nothing taken this time.
    case recorded

    /// Reads a script's reply.
    /// - Parameters:
    ///   - reply: What EVALSHA answered.
    ///   - keys: The number of stock keys in the order.
    /// - Throws: `ClientProtocolError` naming the reply and what the contract expects.
    public init(_ reply: RedisReply, keys: Int) throws {
        let expected =
            "the contract expects {\"sold\", left…}, {\"refused\", left…} with \(NumberText.count(keys, "stock count")), or {\"recorded\"}"
        guard case .array(let elements) = reply, let first = elements.first, let tag = first.string else {
            throw ClientProtocolError("the script replied \(reply); \(expected)")
        }
        let numbers = elements.dropFirst().compactMap(\.int)
        switch tag {
        case "recorded" where elements.count == 1:
            self = .recorded
        case "sold" where numbers.count == keys && elements.count == keys + 1:
            self = .sold(stockLeft: numbers)
        case "refused" where numbers.count == keys && elements.count == keys + 1:
            self = .refused(stockLeft: numbers)
        default:
            throw ClientProtocolError("the script replied \(reply); \(expected)")
        }
    }
}
