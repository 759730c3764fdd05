#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

/* The C boundary: small helpers for the fields and calls that are awkward from Swift. */

/* errstr is a char[128], which Swift imports as a 128-element tuple. */
static inline const char *chiredis_errstr(const redisContext *c) { return c->errstr; }

static inline int chiredis_err(const redisContext *c) { return c->err; }

static inline int chiredis_fd(const redisContext *c) { return c->fd; }

/* ---- Replies built in an arena ----
   hiredis 0.14 builds every reply with calloc (one redisReply per value, a malloc per string, one per array's element
   vector) and freeReplyObject frees it piece by piece: for a WATCH sale's five replies about thirty allocator calls.
   A connection's arena hands out that memory from chunks it keeps, and takes it all back at once: it is reset when
   the next reply is read with none outstanding (a reply is outstanding from chiredis_get_reply until
   chiredis_release_reply), so nested reads (a reply read while another is held) keep both. */

typedef struct chiredis_chunk {
    struct chiredis_chunk *next;
    size_t size, used;
    char data[];
} chiredis_chunk;

typedef struct chiredis_arena {
    chiredis_chunk *head; /* the chunk allocations come from; the first one made is the last in the list */
    long outstanding;      /* replies handed out and not yet released */
} chiredis_arena;

enum { CHIREDIS_CHUNK_SIZE = 4096 - sizeof(chiredis_chunk) };

static inline chiredis_arena *chiredis_arena_create(void) { return calloc(1, sizeof(chiredis_arena)); }

/* Keeps the first chunk (the smallest), frees any others (a large reply's), and starts over. */
static inline void chiredis_arena_reset(chiredis_arena *arena) {
    chiredis_chunk *chunk = arena->head;
    while (chunk && chunk->next) {
        chiredis_chunk *next = chunk->next;
        free(chunk);
        chunk = next;
    }
    arena->head = chunk;
    if (chunk) chunk->used = 0;
}

static inline void chiredis_arena_free(chiredis_arena *arena) {
    if (!arena) return;
    chiredis_arena_reset(arena);
    free(arena->head);
    free(arena);
}

/* Zeroed memory for `size` bytes, 16-byte aligned; NULL when out of memory (hiredis then fails the read). */
static inline void *chiredis_arena_alloc(chiredis_arena *arena, size_t size) {
    size = (size + 15) & ~(size_t)15;
    chiredis_chunk *chunk = arena->head;
    if (!chunk || chunk->size - chunk->used < size) {
        /* A large reply's chunks double (up to 1 MB, or one value's size), so a page of thousands of entries takes
           a dozen allocations, not thousands. */
        size_t grown = chunk ? chunk->size * 2 : CHIREDIS_CHUNK_SIZE;
        if (grown > (size_t)1 << 20) grown = (size_t)1 << 20;
        size_t capacity = size > grown ? size : grown;
        chiredis_chunk *fresh = malloc(sizeof(chiredis_chunk) + capacity);
        if (!fresh) return NULL;
        fresh->size = capacity;
        fresh->used = 0;
        fresh->next = chunk;
        arena->head = chunk = fresh;
    }
    void *memory = chunk->data + chunk->used;
    chunk->used += size;
    memset(memory, 0, size);
    return memory;
}

/* The reply builders, as hiredis's own (read.c's createReplyObject and friends) but from the arena in the task's
   privdata. */
static inline redisReply *chiredis_arena_reply(const redisReadTask *task, int type) {
    redisReply *reply = chiredis_arena_alloc((chiredis_arena *)task->privdata, sizeof(redisReply));
    if (!reply) return NULL;
    reply->type = type;
    if (task->parent) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = reply;
    }
    return reply;
}

static inline void *chiredis_arena_string(const redisReadTask *task, char *str, size_t len) {
    char *copy = chiredis_arena_alloc((chiredis_arena *)task->privdata, len + 1);
    if (!copy) return NULL;
    redisReply *reply = chiredis_arena_reply(task, task->type);
    if (!reply) return NULL;
    memcpy(copy, str, len);
    reply->str = copy;
    reply->len = len;
    return reply;
}

static inline void *chiredis_arena_array(const redisReadTask *task, int elements) {
    redisReply **vector = NULL;
    if (elements > 0) {
        vector = chiredis_arena_alloc((chiredis_arena *)task->privdata, (size_t)elements * sizeof(redisReply *));
        if (!vector) return NULL;
    }
    redisReply *reply = chiredis_arena_reply(task, REDIS_REPLY_ARRAY);
    if (!reply) return NULL;
    reply->element = vector;
    reply->elements = elements;
    return reply;
}

static inline void *chiredis_arena_integer(const redisReadTask *task, long long value) {
    redisReply *reply = chiredis_arena_reply(task, REDIS_REPLY_INTEGER);
    if (!reply) return NULL;
    reply->integer = value;
    return reply;
}

static inline void *chiredis_arena_nil(const redisReadTask *task) { return chiredis_arena_reply(task, REDIS_REPLY_NIL); }

/* The arena takes its memory back all at once: freeing one reply (hiredis does so for a partial reply on a protocol
   error, and for the one it holds in redisFree) is nothing. */
static inline void chiredis_arena_free_object(void *reply) { (void)reply; }

static redisReplyObjectFunctions chiredis_arena_functions = {
    chiredis_arena_string, chiredis_arena_array, chiredis_arena_integer, chiredis_arena_nil,
    chiredis_arena_free_object,
};

/* Builds the context's replies in `arena` from now on. The arena outlives the context (the connection owns it). */
static inline void chiredis_use_arena(redisContext *c, chiredis_arena *arena) {
    c->reader->fn = &chiredis_arena_functions;
    c->reader->privdata = arena;
}

/* Write the whole output buffer and keep its memory for the next commands: redisBufferWrite frees the buffer after
   every complete write and starts an empty one, so each pipeline paid a malloc, a free and a realloc or two. A context
   already in error writes nothing; on a write's failure the context carries REDIS_ERR_IO and errno is left as
   write(2) set it. */
static inline int chiredis_write_out(redisContext *c) {
    if (c->err) return REDIS_ERR;
    size_t length = sdslen(c->obuf), written = 0;
    while (written < length) {
        ssize_t n = write(c->fd, c->obuf + written, length - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            c->err = REDIS_ERR_IO;
            strncpy(c->errstr, strerror(saved), sizeof(c->errstr) - 1);
            c->errstr[sizeof(c->errstr) - 1] = '\0';
            errno = saved;
            return REDIS_ERR;
        }
        written += (size_t)n;
    }
    sdsclear(c->obuf);
    return REDIS_OK;
}

/* Read one reply, capturing errno right at the failure so Swift sees the cause (EAGAIN is a timeout in 0.14). The
   queued commands are written first. `arena` is the one given to chiredis_use_arena, or NULL for hiredis's own
   allocation; with no reply outstanding it starts over first. */
static inline int chiredis_get_reply(redisContext *c, chiredis_arena *arena, redisReply **reply, int *saved_errno) {
    void *r = NULL;
    if (arena && arena->outstanding == 0) chiredis_arena_reset(arena);
    errno = 0;
    int rc = chiredis_write_out(c);
    if (rc == REDIS_OK) rc = redisGetReply(c, &r);
    *saved_errno = errno;
    *reply = (redisReply *)r;
    if (rc == REDIS_OK && r && arena) arena->outstanding += 1;
    return rc;
}

/* Done with a reply from chiredis_get_reply: back to the arena, or freed when the context has none. */
static inline void chiredis_release_reply(chiredis_arena *arena, redisReply *reply) {
    if (arena) {
        arena->outstanding -= 1;
    } else {
        freeReplyObject(reply);
    }
}

/* Write every queued command now, without reading a reply, so the server works while the client does. Captures errno
   as above. */
static inline int chiredis_flush(redisContext *c, int *saved_errno) {
    errno = 0;
    if (chiredis_write_out(c) != REDIS_OK) {
        *saved_errno = errno;
        return REDIS_ERR;
    }
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
