import Hiredis

extension RedisConnection {
    /// Sends a sale's EVALSHA. NOSCRIPT means the script did not run (SCRIPT FLUSH, a restarted server): `load` loads
    /// it again and the same call goes once more. A stock key the script found missing or not an integer (its
    /// `NOSTOCK` and `NOTINT` errors) throws `StockKeyError`; any other reply, error or not, is the caller's to read.
    func evalsha(_ call: RedisCommand, reloading load: (RedisConnection) throws -> Void) throws -> RedisReply {
        var reply = try request(call)
        if case .error(let error) = reply, error.code == "NOSCRIPT" {
            try load(self)
            reply = try request(call)
        }
        if case .error(let error) = reply, error.code == "NOSTOCK" || error.code == "NOTINT" {
            throw StockKeyError(description: error.message)
        }
        return reply
    }
}
