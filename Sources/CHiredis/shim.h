#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>

/* The C boundary: small helpers for the fields and calls that are awkward from Swift. */

/* errstr is a char[128], which Swift imports as a 128-element tuple. */
static inline const char *chiredis_errstr(const redisContext *c) { return c->errstr; }

static inline int chiredis_err(const redisContext *c) { return c->err; }

static inline int chiredis_fd(const redisContext *c) { return c->fd; }

/* Read one reply, capturing errno right at the failure so Swift sees the cause (EAGAIN is a timeout in 0.14). */
static inline int chiredis_get_reply(redisContext *c, redisReply **reply, int *saved_errno) {
    void *r = NULL;
    errno = 0;
    int rc = redisGetReply(c, &r);
    *saved_errno = errno;
    *reply = (redisReply *)r;
    return rc;
}

/* Write every queued command now, without reading a reply, so the server works while the client does. Captures errno
   as above. */
static inline int chiredis_flush(redisContext *c, int *saved_errno) {
    int done = 0;
    errno = 0;
    do {
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            *saved_errno = errno;
            return REDIS_ERR;
        }
    } while (!done);
    *saved_errno = 0;
    return REDIS_OK;
}

/* Connect with a timeout; a zero timeout means block without limit. Captures errno as above. */
static inline redisContext *chiredis_connect_tcp(const char *host, int port, long timeout_usec, int *saved_errno) {
    errno = 0;
    redisContext *c;
    if (timeout_usec > 0) {
        struct timeval tv = { timeout_usec / 1000000, timeout_usec % 1000000 };
        c = redisConnectWithTimeout(host, port, tv);
    } else {
        c = redisConnect(host, port);
    }
    *saved_errno = errno;
    return c;
}

static inline redisContext *chiredis_connect_unix(const char *path, long timeout_usec, int *saved_errno) {
    errno = 0;
    redisContext *c;
    if (timeout_usec > 0) {
        struct timeval tv = { timeout_usec / 1000000, timeout_usec % 1000000 };
        c = redisConnectUnixWithTimeout(path, tv);
    } else {
        c = redisConnectUnix(path);
    }
    *saved_errno = errno;
    return c;
}

static inline int chiredis_set_timeout(redisContext *c, long timeout_usec) {
    struct timeval tv = { timeout_usec / 1000000, timeout_usec % 1000000 };
    return redisSetTimeout(c, tv);
}

#endif
