import CHiredis

extension RedisConnection {
    /// Reads a whole hash with HSCAN, page by page, handing every field and its value to `body` as bytes, without a
    /// Swift value per entry: the way to read a hash of millions of entries in bounded memory and little time.
    ///
    /// The next page is asked for before the current one is handed over, so the server builds it meanwhile. HSCAN's
    /// guarantees hold: an entry present for the whole scan is handed over at least once, and may be handed over twice
    /// while the hash is rehashed (after writes during the scan).
    ///
    /// - Parameters:
    ///   - key: the hash.
    ///   - count: HSCAN's COUNT hint: about how many entries a page holds.
    ///   - body: called once per entry with its field and its value, each valid only during the call; `nil` for an
    ///     element that is not a string.
    /// - Throws: `RedisError` `.serverError` for an error reply (`WRONGTYPE` for a key that is not a hash; the
    ///   connection stays usable), `.protocolError` for a reply that is not a cursor and a page (the connection is
    ///   closed), and as ``send(_:)``.
    public func scanHash(
        _ key: String, count: Int = 5000,
        _ body: (_ field: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer?) -> Void
    ) throws(RedisError) {
        func page(after cursor: [UInt8]) -> RedisCommand {
            RedisCommand("HSCAN", RedisArgument(key), .bytes(cursor), "COUNT", RedisArgument(count))
        }
        try settleWatchAhead()
        try append(page(after: Array("0".utf8)))
        var more = true
        while more {
            more = try withNextReply { raw throws(RedisError) in
                let reply = raw.pointee
                if reply.type == REDIS_REPLY_ERROR {
                    throw RedisError.server(RedisErrorReply(line: Self.text(reply)), command: "HSCAN")
                }
                guard reply.type == REDIS_REPLY_ARRAY, reply.elements == 2, let cursorReply = reply.element[0],
                    cursorReply.pointee.type == REDIS_REPLY_STRING, let entriesReply = reply.element[1],
                    entriesReply.pointee.type == REDIS_REPLY_ARRAY
                else {
                    let error = RedisError(
                        .protocolError, "HSCAN \(key) answered \(Self.copy(raw)), not a cursor and a page")
                    close()
                    throw error
                }
                let cursor = Self.bytes(of: cursorReply) ?? UnsafeRawBufferPointer(start: nil, count: 0)
                let last = cursor.elementsEqual("0".utf8)
                if !last {
                    try append(page(after: Array(cursor)))
                    try flush()
                }
                let entries = entriesReply.pointee
                var index = 0
                while index + 1 < entries.elements {
                    body(Self.bytes(of: entries.element[index]), Self.bytes(of: entries.element[index + 1]))
                    index += 2
                }
                return !last
            }
        }
    }

    /// The bytes of a string or status reply, valid as long as the reply.
    private static func bytes(of element: UnsafeMutablePointer<redisReply>?) -> UnsafeRawBufferPointer? {
        guard let element, element.pointee.type == REDIS_REPLY_STRING || element.pointee.type == REDIS_REPLY_STATUS
        else { return nil }
        return UnsafeRawBufferPointer(start: element.pointee.str, count: element.pointee.len)
    }

    private static func text(_ reply: redisReply) -> String {
        String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self)
    }
}
