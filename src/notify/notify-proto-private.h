/*
 * Inside notify-proto: what notify-proto.c (headers, keys, cookies) and
 * notify-payload.c (payloads, addresses) share, the smallest size of
 * each type and the big-endian field helpers. Nothing outside the
 * protocol library includes this.
 */
#ifndef MB_NOTIFY_NOTIFY_PROTO_PRIVATE_H
#define MB_NOTIFY_NOTIFY_PROTO_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* The smallest datagram of a type (its fixed fields, or the padding the
 * protocol demands); 0 for a code that is no type. */
size_t notify_proto_min_size(unsigned int type);

static inline void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static inline uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static inline uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

#endif
