/*
 * HKDF-SHA256 (RFC 5869) through OpenSSL's EVP_KDF, one step at a time:
 * the notifier derives its datagram keys with it, the cluster the key
 * that seals a node's notifier state in NATS.
 */
#ifndef MB_LIB_HKDF_H
#define MB_LIB_HKDF_H

#include <stddef.h>

#include <openssl/kdf.h>

/*
 * One HKDF-SHA256 run in mode (EVP_KDF-HKDF(7)):
 * EVP_KDF_HKDF_MODE_EXTRACT_ONLY (key = IKM, salt_or_info = salt),
 * EVP_KDF_HKDF_MODE_EXPAND_ONLY (key = PRK, salt_or_info = info) or
 * EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND (key = IKM, with salt and info
 * both given as salt_or_info and info). OpenSSL's HKDF refuses an empty
 * salt or info. Writes out_len bytes to out; 0 or -1.
 */
int hkdf_sha256(int mode, const unsigned char *key, size_t key_len,
    const unsigned char *salt_or_info, size_t sl_len,
    const unsigned char *info, size_t info_len, unsigned char *out,
    size_t out_len);

#endif
