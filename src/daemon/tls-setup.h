/*
 * The daemon's certificate: the configured [tls] files or the
 * self-signed pair under <data_dir>/tls/, loaded at start and again on
 * SIGHUP.
 */
#ifndef MB_DAEMON_TLS_SETUP_H
#define MB_DAEMON_TLS_SETUP_H

#include <stdbool.h>

struct mb_config;
struct tls_server;

/* Whether the certificate comes from [tls] cert_file and key_file, read
 * before privileges are dropped (a key may be readable by root alone);
 * otherwise it is the self-signed pair, made and read after the drop so
 * that the daemon's account owns it. */
bool tls_setup_configured(const struct mb_config *cfg);

/* Loads the certificate (making the self-signed pair first if it is
 * missing) and logs "tls: certificate PATH sha256=...". Exits through
 * fatalx() if it cannot: only start-up calls this. */
struct tls_server *tls_setup_start(const struct mb_config *cfg);

/* SIGHUP: reads the files cfg names ([tls] cert_file and key_file, or
 * the self-signed pair, not made again if it is missing) and logs
 * "tls: reloaded certificate PATH sha256=...". New connections get the
 * new certificate, open sessions keep theirs. If a file is bad, the
 * certificate and the files it came from stay, "tls: reload failed,
 * keeping the certificate sha256=...: REASON" is logged and -1
 * returned; otherwise 0. */
int tls_setup_reload(struct tls_server *tls, const struct mb_config *cfg);

#endif
