/*
 * HKDF-SHA256 through OpenSSL's EVP_KDF (lib/hkdf.h).
 */
#include "lib/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

int
hkdf_sha256(int mode, const unsigned char *key, size_t key_len,
    const unsigned char *salt_or_info, size_t sl_len,
    const unsigned char *info, size_t info_len, unsigned char *out,
    size_t out_len)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[6], *p = params;
	int ret = -1;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL)
		return -1;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return -1;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, key_len);
	*p++ = OSSL_PARAM_construct_octet_string(
	    mode == EVP_KDF_HKDF_MODE_EXPAND_ONLY ? OSSL_KDF_PARAM_INFO :
	    OSSL_KDF_PARAM_SALT, (void *)salt_or_info, sl_len);
	if (mode == EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) > 0)
		ret = 0;
	EVP_KDF_CTX_free(ctx);
	return ret;
}
