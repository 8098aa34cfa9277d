/*
 * SIGHUP: read the configuration file the daemon was started with again
 * and apply what can change while it runs: the limits and policies the
 * servers read on each use, the log level, the certificate files (read
 * again even when unchanged, so a renewed certificate is taken) and the
 * passwd file (read again even when it looks unchanged). What needs a
 * restart (reload-keys.h) is left as it is, and the log says so.
 */
#ifndef MB_DAEMON_RELOAD_H
#define MB_DAEMON_RELOAD_H

#include <stdbool.h>

struct directory;
struct mb_config;
struct notify_server;
struct tls_server;

/* What a reload changes; the daemon owns each, for as long as it runs. */
struct reload_deps {
	struct mb_config *cfg;	/* the running configuration, changed in
				   place: the servers read it through
				   their const pointers */
	struct tls_server *tls;	/* the certificate */
	struct directory *dir;	/* the passwd file */
	struct notify_server *notify; /* NULL when [notify] is disabled */
	bool verbose;		/* -v: debug whatever log_level says */
};

/*
 * Read cfg->file (or the embedded default) again. When it cannot be read
 * or has an error, log "reload: FILE:LINE: [section] key: reason;
 * keeping the running configuration", change no setting and, after the
 * steps below, return -1. Otherwise log "reload: SECTION.KEY OLD -> NEW"
 * for each key taken and "reload: SECTION.KEY OLD -> NEW not applied:
 * REASON" for each key that is not (needs a restart; the certificate
 * files do not load, which keeps the certificate and [tls] keys in
 * effect). Either way, read the certificate and the passwd file again
 * (each logged), log "reload: done: changed=N need_restart=N
 * not_applied=N" last, and return 0 if the file was applied. Runs on
 * the event loop; blocks for the file reads.
 */
int reload_run(const struct reload_deps *deps);

#endif
