/*
 * Which certificate the daemon serves, and reloading it on SIGHUP
 * without dropping a session (see tls-setup.h).
 */
#include "daemon/tls-setup.h"

#include <stdlib.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/tls.h"

bool
tls_setup_configured(const struct mb_config *cfg)
{
	return cfg->tls_cert_file != NULL;
}

struct tls_server *
tls_setup_start(const struct mb_config *cfg)
{
	struct tls_server *tls;
	char *cert_file = NULL, *key_file = NULL;
	const char *error;
	bool generated = false;

	if (tls_setup_configured(cfg)) {
		tls = tls_server_new(cfg->tls_cert_file, cfg->tls_key_file,
		    &error);
	} else {
		if (tls_self_signed_ensure(cfg->data_dir, cfg->hostname,
		    &cert_file, &key_file, &generated, &error) < 0)
			fatalx("tls: cannot make a self-signed certificate: %s",
			    error);
		if (generated)
			log_info("tls: made a self-signed certificate for %s "
			    "in %s", cfg->hostname, cert_file);
		tls = tls_server_new(cert_file, key_file, &error);
	}
	free(cert_file);
	free(key_file);
	if (tls == NULL)
		fatalx("tls: %s", error);
	log_info("tls: certificate %s sha256=%s", tls_server_cert_file(tls),
	    tls_server_fingerprint(tls));
	return tls;
}

int
tls_setup_reload(struct tls_server *tls, const struct mb_config *cfg)
{
	char *cert_file = NULL, *key_file = NULL;
	const char *error;
	int ret;

	/* A missing self-signed file is not made again here: a new
	 * certificate would no longer match the fingerprint clients
	 * trust. */
	if (tls_setup_configured(cfg)) {
		ret = tls_server_reload(tls, cfg->tls_cert_file,
		    cfg->tls_key_file, &error);
	} else {
		tls_self_signed_paths(cfg->data_dir, &cert_file, &key_file);
		ret = tls_server_reload(tls, cert_file, key_file, &error);
	}
	free(cert_file);
	free(key_file);
	if (ret < 0) {
		log_warnx("tls: reload failed, keeping the certificate "
		    "sha256=%s: %s", tls_server_fingerprint(tls), error);
		return -1;
	}
	log_info("tls: reloaded certificate %s sha256=%s",
	    tls_server_cert_file(tls), tls_server_fingerprint(tls));
	return 0;
}
