/*
 * Base64 (RFC 4648 section 4, the standard alphabet with padding) on
 * OpenSSL's EVP_EncodeBlock and EVP_DecodeBlock, with the strictness
 * protocol input needs added in front of the decoder.
 */
#ifndef MB_LIB_BASE64_H
#define MB_LIB_BASE64_H

#include <stddef.h>

/* The base64 text of len bytes of data, padded with '=' to a multiple of
 * four characters, with no line breaks, NUL-terminated; xmalloc'd, the
 * caller frees it (wiping it first if it encodes a secret). data may be
 * NULL if len is 0, which gives "". */
char *base64_encode(const void *data, size_t len);

/*
 * Decode len characters of text, which need not be NUL-terminated.
 * Strict: len must be a multiple of four; every character must be from
 * the alphabet "A-Za-z0-9+/", except that the last one or two may be '='
 * (then the rest of the text is unpadded data); no whitespace, line
 * breaks or NULs. Bits below the last whole byte of a padded quantum are
 * ignored, as RFC 4648 section 3.5 allows a decoder to. An empty text
 * decodes to zero bytes.
 *
 * Returns 0 and sets *data_r to a new xmalloc'd buffer of *len_r bytes
 * plus a terminating NUL (so decoded text can be used as a C string if it
 * holds no NUL itself); the caller frees it, wiping it first if it holds
 * a secret. Returns -1, touching neither output, on bad input.
 */
int base64_decode(const char *text, size_t len, unsigned char **data_r,
    size_t *len_r);

#endif
