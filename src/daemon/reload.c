/*
 * Reloading the configuration on SIGHUP (see reload.h): the file is read
 * whole before anything changes, so an error in it changes no setting;
 * then each changed key is applied or reported, and the certificate and
 * passwd file are read again.
 */
#include "daemon/reload.h"

#include <stdlib.h>

#include "daemon/reload-keys.h"
#include "daemon/tls-setup.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/log.h"
#include "notify/notify.h"

/* What one reload did, for its summary line. */
struct reload_tally {
	unsigned changed;	/* keys taken */
	unsigned restart;	/* keys that need a restart */
	unsigned kept;		/* keys not taken for another reason */
};

static void
log_change(const struct reload_key *key, const struct mb_config *from,
    const struct mb_config *to, const char *why)
{
	char old[RELOAD_VALUE_TEXT_SIZE], new[RELOAD_VALUE_TEXT_SIZE];

	reload_key_format(key, from, old);
	reload_key_format(key, to, new);
	if (why == NULL)
		log_info("reload: %s %s -> %s", key->name, old, new);
	else
		log_warnx("reload: %s %s -> %s not applied: %s", key->name,
		    old, new, why);
}

/* Take next's value of every changed key of kind when into cur (the
 * old one goes to next, freed with it), logging each. */
static void
apply_keys(struct mb_config *cur, struct mb_config *next,
    enum reload_when when, struct reload_tally *t)
{
	size_t i;

	for (i = 0; i < reload_key_count; i++) {
		const struct reload_key *key = &reload_keys[i];

		if (key->when != when || !reload_key_differs(key, cur, next))
			continue;
		log_change(key, cur, next, NULL);
		reload_key_swap(key, cur, next);
		t->changed++;
	}
}

static void
report_restart_keys(const struct mb_config *cur,
    const struct mb_config *next, struct reload_tally *t)
{
	size_t i;

	for (i = 0; i < reload_key_count; i++) {
		const struct reload_key *key = &reload_keys[i];

		if (key->when != RELOAD_RESTART ||
		    !reload_key_differs(key, cur, next))
			continue;
		log_change(key, cur, next, "needs a restart");
		t->restart++;
	}
}

/* Exchange every [tls] key between cur and next. */
static void
swap_tls_keys(struct mb_config *cur, struct mb_config *next)
{
	size_t i;

	for (i = 0; i < reload_key_count; i++)
		if (reload_keys[i].when == RELOAD_TLS)
			reload_key_swap(&reload_keys[i], cur, next);
}

/* Log each [tls] key that differs between from and to. */
static unsigned
log_tls_keys(const struct mb_config *from, const struct mb_config *to,
    const char *why)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < reload_key_count; i++) {
		const struct reload_key *key = &reload_keys[i];

		if (key->when == RELOAD_TLS &&
		    reload_key_differs(key, from, to)) {
			log_change(key, from, to, why);
			n++;
		}
	}
	return n;
}

/*
 * Read the certificate again, from the files next names (NULL: the
 * running ones): they become the running [tls] keys only if they load,
 * so a failed reload leaves the keys and the certificate as they were.
 */
static void
reload_tls(const struct reload_deps *deps, struct mb_config *next,
    struct reload_tally *t)
{
	struct mb_config *cur = deps->cfg;

	if (next == NULL) {
		(void)tls_setup_reload(deps->tls, cur);
		return;
	}
	swap_tls_keys(cur, next);
	if (tls_setup_reload(deps->tls, cur) == 0) {
		t->changed += log_tls_keys(next, cur, NULL);
		return;
	}
	swap_tls_keys(cur, next);
	t->kept += log_tls_keys(cur, next, "the certificate cannot be used");
}

static void
count_user_cb(const char *user, void *ctx)
{
	(void)user;
	(*(size_t *)ctx)++;
}

/* Read the passwd file now, whether or not it looks changed. */
static void
reload_passwd(const struct reload_deps *deps)
{
	char *path = config_passwd_path(deps->cfg);
	const char *error;
	size_t users = 0;

	if (directory_reload(deps->dir) < 0)
		log_warn("reload: %s: cannot read it, keeping the users read "
		    "before", path);
	else if (directory_user_list(deps->dir, count_user_cb, &users,
	    &error) == 0)
		log_info("reload: %s: %zu users", path, users);
	free(path);
}

int
reload_run(const struct reload_deps *deps)
{
	struct mb_config *cur = deps->cfg, *next;
	struct reload_tally t = { 0, 0, 0 };
	const char *error;
	int ret = 0;

	log_info("reload: reading %s", cur->file != NULL ? cur->file :
	    "the embedded default configuration");
	/* A file that cannot be used changes no setting; the certificate
	 * and passwd file it named are still read again, so a renewed
	 * certificate is taken even then. */
	if (config_load(cur->file, &next, &error) < 0) {
		log_warnx("reload: %s; keeping the running configuration",
		    error);
		next = NULL;
		ret = -1;
	} else {
		apply_keys(cur, next, RELOAD_LIVE, &t);
		report_restart_keys(cur, next, &t);
	}
	reload_tls(deps, next, &t);
	log_set_verbose(deps->verbose ||
	    cur->log_level == CONFIG_LOG_LEVEL_DEBUG);
	if (deps->notify != NULL)
		notify_server_set_limits(deps->notify, cur);
	reload_passwd(deps);
	config_free(&next);
	log_info("reload: done: changed=%u need_restart=%u not_applied=%u",
	    t.changed, t.restart, t.kept);
	return ret;
}
