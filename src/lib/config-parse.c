/*
 * Running inih over one input, the embedded default or a file: a line
 * reader that counts lines and refuses long ones and unknown sections, a
 * handler that finds each key in the table, and the checks across keys
 * once the input is read. The first error stops the parse.
 */
#include "lib/config-private.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <string.h>

/* The sections a file may have. */
static const char *const config_sections[] = {
	"server", "imap", "lmtp", "admin", "notify", "tls", "cluster",
};

static void
parse_fail(struct config_parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
parse_fail(struct config_parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = true;
	n = snprintf(p->error, sizeof(p->error), "%s:%u: ", p->name, p->line);
	if (n < 0 || (size_t)n >= sizeof(p->error))
		return;
	va_start(ap, fmt);
	vsnprintf(p->error + n, sizeof(p->error) - (size_t)n, fmt, ap);
	va_end(ap);
}

static int
config_handler_cb(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_parse *p = user;
	const struct config_key_def *def = NULL;
	const char *reason = NULL;
	bool known_section = false;
	size_t i;

	if (p->failed)
		return 0;
	if (*section == '\0') {
		parse_fail(p, "%s: key outside any section", name);
		return 0;
	}
	for (i = 0; i < config_key_count; i++) {
		if (strcmp(config_keys[i].section, section) != 0)
			continue;
		known_section = true;
		if (strcmp(config_keys[i].name, name) == 0) {
			def = &config_keys[i];
			break;
		}
	}
	if (!known_section) {
		/* the reader rejects unknown sections; kept for safety */
		parse_fail(p, "[%s]: unknown section", section);
		return 0;
	}
	if (def == NULL) {
		parse_fail(p, "[%s] %s: unknown key", section, name);
		return 0;
	}
	if (p->key_line[def->key] != 0) {
		parse_fail(p, "[%s] %s: duplicate key (first set on line %u)",
		    section, name, p->key_line[def->key]);
		return 0;
	}
	if (config_key_parse(p, def, value, &reason) < 0) {
		parse_fail(p, "[%s] %s: %s", section, name, reason);
		return 0;
	}
	p->key_line[def->key] = p->line;
	return 1;
}

/* Check a section header line ("[name]") against the known sections, so
 * that even an empty unknown section is an error. */
/* A cluster node needs all of these: a name, its NATS servers, the host
 * its peers reach it at and the secret they log in with. */
static int
check_cluster(struct config_parse *p)
{
	static const struct {
		enum config_key key;
		const char *name;
	} need[] = {
		{ KEY_CLUSTER_NODE, "node" },
		{ KEY_CLUSTER_NATS, "nats" },
		{ KEY_CLUSTER_HOST, "host" },
		{ KEY_CLUSTER_SECRET_FILE, "secret_file" },
	};
	unsigned any = 0;
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (p->key_line[need[i].key] > any)
			any = p->key_line[need[i].key];
	if (p->key_line[KEY_CLUSTER_CA_FILE] > any)
		any = p->key_line[KEY_CLUSTER_CA_FILE];
	if (any == 0)
		return 0;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (p->key_line[need[i].key] != 0)
			continue;
		p->line = any;
		parse_fail(p, "[cluster] %s: not set (a cluster node needs "
		    "node, nats, host and secret_file)", need[i].name);
		return -1;
	}
	return 0;
}

static void
check_section_line(struct config_parse *p, const char *line)
{
	const char *end = strchr(line, ']');
	size_t i, len;

	if (end == NULL)
		return;		/* inih reports the syntax error */
	len = (size_t)(end - line - 1);
	for (i = 0; i < sizeof(config_sections) / sizeof(config_sections[0]);
	    i++) {
		if (strlen(config_sections[i]) == len &&
		    strncmp(config_sections[i], line + 1, len) == 0)
			return;
	}
	parse_fail(p, "[%.*s]: unknown section (known: [server] [imap] "
	    "[lmtp] [admin] [notify] [tls] [cluster])", (int)len, line + 1);
}

/*
 * The fgets-style reader inih calls: counts lines, refuses lines longer
 * than CONFIG_LINE_MAX instead of letting them split, and strips leading
 * blanks so an indented key is a key, never a continuation line.
 */
static char *
config_reader_cb(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	size_t len, skip;

	if (p->failed)
		return NULL;
	if (p->fp != NULL) {
		if (fgets(str, num, p->fp) == NULL)
			return NULL;
		len = strlen(str);
	} else {
		const char *nl;

		if (*p->str == '\0')
			return NULL;
		nl = strchr(p->str, '\n');
		len = nl != NULL ? (size_t)(nl - p->str) + 1 : strlen(p->str);
		if (len >= (size_t)num)
			len = (size_t)num - 1;
		memcpy(str, p->str, len);
		str[len] = '\0';
		p->str += len;
	}
	p->line++;
	if ((len > 0 && str[len - 1] != '\n' &&
	    (p->fp != NULL ? !feof(p->fp) : *p->str != '\0')) ||
	    len - (len > 0 && str[len - 1] == '\n') > CONFIG_LINE_MAX) {
		parse_fail(p, "line too long (at most %d bytes)",
		    CONFIG_LINE_MAX);
		return NULL;
	}
	skip = strspn(str, " \t");
	if (skip > 0)
		memmove(str, str + skip, len - skip + 1);
	if (str[0] == '[')
		check_section_line(p, str);
	return p->failed ? NULL : str;
}

/* Checks across keys, once the whole file is read. */
static void
config_check(struct config_parse *p)
{
	static const struct {
		enum config_key key;
		const char *name;
	} tcp[] = {
		{KEY_IMAP_PORT, "[imap] port"},
		{KEY_IMAP_TLS_PORT, "[imap] tls_port"},
		{KEY_LMTP_PORT, "[lmtp] port"},
		{KEY_ADMIN_PORT, "[admin] port"},
	};
	const uint16_t ports[] = {
		p->cfg->imap_port, p->cfg->imap_tls_port, p->cfg->lmtp_port,
		p->cfg->admin_port,
	};
	size_t i, j;

	/* A certificate without its key (or the reverse) cannot be used,
	 * and falling back to the self-signed one would hide the mistake. */
	if ((p->cfg->tls_cert_file == NULL) != (p->cfg->tls_key_file == NULL)) {
		p->line = p->key_line[KEY_TLS_CERT_FILE] +
		    p->key_line[KEY_TLS_KEY_FILE];
		parse_fail(p, "[tls] %s: set without [tls] %s (both or neither)",
		    p->cfg->tls_cert_file != NULL ? "cert_file" : "key_file",
		    p->cfg->tls_cert_file != NULL ? "key_file" : "cert_file");
		return;
	}
	/* The admin port tells what the server holds: off loopback only
	 * to those who show its token. */
	for (i = 0; i < p->cfg->admin_listen_count; i++) {
		if (config_addr_is_loopback(p->cfg->admin_listen[i]) ||
		    p->cfg->admin_token_file != NULL)
			continue;
		p->line = p->key_line[KEY_ADMIN_LISTEN];
		parse_fail(p, "[admin] listen: %s is not a loopback address: "
		    "set [admin] token_file too", p->cfg->admin_listen[i]);
		return;
	}
	if (check_cluster(p) < 0)
		return;
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		for (j = 0; j < i; j++) {
			unsigned li = p->key_line[tcp[i].key];
			unsigned lj = p->key_line[tcp[j].key];

			if (ports[i] == 0 || ports[i] != ports[j])
				continue;
			p->line = li > lj ? li : lj;
			parse_fail(p, "%s: port %u is also %s",
			    li > lj ? tcp[i].name : tcp[j].name, ports[i],
			    li > lj ? tcp[j].name : tcp[i].name);
			return;
		}
	}
}

int
config_parse_run(struct config_parse *p)
{
	int ret;

	/*
	 * Debian's libinih makes its compile-time options run-time globals.
	 * Use a heap line buffer large enough for CONFIG_LINE_MAX, no
	 * Python-style continuation lines, and stop at the first error.
	 */
	ini_use_stack = false;
	ini_max_line = CONFIG_LINE_MAX + 3;
	ini_initial_alloc = CONFIG_LINE_MAX + 3;
	ini_allow_realloc = false;
	ini_allow_multiline = false;
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = (char *)";#";
	ini_stop_on_first_error = true;

	ret = ini_parse_stream(config_reader_cb, p, config_handler_cb, p);
	if (p->fp != NULL && ferror(p->fp) && !p->failed) {
		p->line++;
		parse_fail(p, "read error: %s", strerror(errno));
	}
	if (ret > 0 && !p->failed) {
		p->line = (unsigned)ret;
		parse_fail(p, "syntax error (expected [section] or "
		    "key = value)");
	} else if (ret < 0 && !p->failed) {
		parse_fail(p, "out of memory");
	}
	if (!p->failed)
		config_check(p);
	return p->failed ? -1 : 0;
}

