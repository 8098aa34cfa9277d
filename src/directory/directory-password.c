/*
 * Passwords: checking one against a stored "{SCHEME}data" value, and
 * hashing a new one in the scheme `mailbell user add` writes.
 */
#include "directory/directory.h"
#include "directory/directory-private.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Scheme written for new and changed passwords (Dovecot's default). */
#define DIRECTORY_DEFAULT_SCHEME "SHA512-CRYPT"
/* crypt(3) setting prefix for it. */
#define DIRECTORY_DEFAULT_PREFIX "$6$"
/* Random bytes fed to crypt_gensalt for each new hash (128 bits). */
#define DIRECTORY_SALT_BYTES 16

/* Compare two strings in time that depends only on their lengths. */
static bool
secret_equal(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);

	return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

/* Check password against a crypt(3) hash. */
static bool
crypt_matches(const char *password, const char *hash)
{
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out;
	bool ok;

	out = crypt_r(password, hash, data);
	ok = out != NULL && out[0] != '*' && secret_equal(out, hash);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ok;
}

/*
 * Check password against a stored "{SCHEME}data" value; without a scheme
 * prefix the value is a crypt(3) hash, as Dovecot's passwd-file assumes.
 */
static bool
password_matches(const char *password, const char *stored)
{
	char scheme[32];
	const char *data = stored, *close;
	size_t n;

	strcpy(scheme, "CRYPT");
	if (stored[0] == '{' && (close = strchr(stored, '}')) != NULL) {
		n = (size_t)(close - stored - 1);
		if (n == 0 || n >= sizeof(scheme))
			return false;
		memcpy(scheme, stored + 1, n);
		scheme[n] = '\0';
		data = close + 1;
	}
	if (strcasecmp(scheme, "SHA512-CRYPT") == 0 ||
	    strcasecmp(scheme, "SHA256-CRYPT") == 0 ||
	    strcasecmp(scheme, "BLF-CRYPT") == 0 ||
	    strcasecmp(scheme, "MD5-CRYPT") == 0 ||
	    strcasecmp(scheme, "CRYPT") == 0)
		return data[0] != '\0' && crypt_matches(password, data);
	if (strcasecmp(scheme, "PLAIN") == 0 ||
	    strcasecmp(scheme, "CLEAR") == 0 ||
	    strcasecmp(scheme, "CLEARTEXT") == 0)
		return secret_equal(password, data);
	log_warnx("password scheme {%s} is not supported", scheme);
	return false;
}

bool
directory_password_check(const char *password, const char *stored)
{
	return password_matches(password, stored);
}

char *
directory_hash_password(const char *password, const char **error_r)
{
	unsigned char rnd[DIRECTORY_SALT_BYTES];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	const char *out;
	char *result = NULL;

	if (password[0] == '\0') {
		*error_r = error_code_fmt(ERROR_INVALID, "empty password");
		return NULL;
	}
	if (strlen(password) > PASSWORD_MAX) {
		*error_r = error_code_fmt(ERROR_INVALID,
		    "password longer than %d bytes", PASSWORD_MAX);
		return NULL;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		*error_r = error_fmt("no random bytes for a salt");
		return NULL;
	}
	if (crypt_gensalt_rn(DIRECTORY_DEFAULT_PREFIX, 0, (const char *)rnd,
	    sizeof(rnd), setting, sizeof(setting)) == NULL) {
		*error_r = error_fmt("crypt_gensalt: %s", strerror(errno));
		return NULL;
	}
	data = xcalloc(1, sizeof(*data));
	out = crypt_r(password, setting, data);
	if (out == NULL || strncmp(out, DIRECTORY_DEFAULT_PREFIX,
	    strlen(DIRECTORY_DEFAULT_PREFIX)) != 0)
		*error_r = error_fmt("crypt: cannot hash with %s",
		    DIRECTORY_DEFAULT_SCHEME);
	else
		result = xasprintf("{%s}%s", DIRECTORY_DEFAULT_SCHEME, out);
	explicit_bzero(data, sizeof(*data));
	free(data);
	explicit_bzero(rnd, sizeof(rnd));
	return result;
}
