import Hiredis

/// A failure of the data in Redis rather than of the connection: a stock key went missing or holds a non-integer.
struct StockKeyError: Error, CustomStringConvertible {
    var description: String

    /// Reads a stock value, naming what is wrong when it is not an integer.
    static func value(_ reply: RedisReply, key: @autoclosure () -> String) throws(StockKeyError) -> Int64 {
        if let value = reply.int { return value }
        if reply.isNull {
            throw StockKeyError(description: "the stock key '\(key())' does not exist (was it deleted?)")
        }
        throw StockKeyError(description: "the stock key '\(key())' holds \(reply), not an integer")
    }
}

extension RedisError {
    /// A refusal that says "not now" and ran nothing: a restarted server loading its data, a busy script.
    var isTransient: Bool { reply?.code == "LOADING" || reply?.code == "BUSY" }
}
