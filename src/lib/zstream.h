/*
 * A pair of raw deflate streams (RFC 1951, no zlib header) on evbuffers,
 * for a connection compressed in both directions (IMAP COMPRESS=DEFLATE,
 * RFC 4978): one inflater for what the peer sends, one deflater for what
 * we send. No event loop is involved: the caller moves the bytes (the
 * IMAP session does it from a bufferevent filter).
 *
 * Memory is counted: zstream_memory() is what zlib holds right now.
 * The inflater must accept any window the peer chose (RFC 4978 section
 * 4), so it costs about 7 KiB and, from the first byte of output, a
 * 32 KiB window. The deflater costs what zstream_new() was told, is made
 * at the first output and may be released between bursts
 * (zstream_deflate_release()).
 */
#ifndef MB_LIB_ZSTREAM_H
#define MB_LIB_ZSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <event2/buffer.h>

struct zstream;

/* A stream pair whose deflater will use window_bits (9..15: a window of
 * 2^window_bits bytes) and mem_level (1..9: hash tables of
 * 2^(mem_level + 9) bytes); see zlib's deflateInit2(). Never NULL
 * (allocation failure aborts). */
struct zstream *zstream_new(int window_bits, int mem_level);
void zstream_free(struct zstream **zp);

/*
 * Inflate from src into dst, draining what was used from src. Stops
 * once dst has grown by limit bytes (limit >= 0) and leaves the rest of
 * src for a later call; the inflater never holds output back when src
 * runs out, so nothing is left inside zlib waiting for more input to
 * arrive (that may add a few KiB beyond limit, the rest of a match
 * already read). Returns 0, or -1 with *error_r for corrupt data or
 * data after the stream's final block; the stream is unusable then.
 */
int zstream_inflate(struct zstream *z, struct evbuffer *src,
    struct evbuffer *dst, ssize_t limit, const char **error_r);

/*
 * Deflate from src into dst, draining src: all of it, or (limit >= 0)
 * until dst has grown by limit bytes. With flush, once src is empty
 * everything given so far is flushed into dst (Z_SYNC_FLUSH: byte
 * aligned, so the peer can inflate all of it now), even when src was
 * empty to begin with. Returns 0, or -1 with *error_r.
 */
int zstream_deflate(struct zstream *z, struct evbuffer *src,
    struct evbuffer *dst, ssize_t limit, bool flush, const char **error_r);

/* Whether the deflater was given bytes since its last flush. */
bool zstream_deflate_dirty(const struct zstream *z);

/*
 * Free the deflater if it is clean (nothing given since its last
 * flush); the next zstream_deflate() makes a new one. The peer's
 * inflater sees nothing odd: the new deflater starts a new block at a
 * byte boundary and refers to nothing sent before. A no-op otherwise.
 */
void zstream_deflate_release(struct zstream *z);

/* Bytes zlib holds for this pair now (both streams). */
size_t zstream_memory(const struct zstream *z);

#endif
