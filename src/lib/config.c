/*
 * Loading mailbell's INI configuration with inih. The embedded default is
 * itself INI text parsed by the same code, so a file only overrides what
 * it names and the default can never drift from what the parser accepts.
 */
#include "lib/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

#define MB_STR_(x) #x
#define MB_STR(x) MB_STR_(x)

/* The embedded default's size limit is written as "<n>M" below. */
_Static_assert(LMTP_MESSAGE_SIZE_DEFAULT % (1024 * 1024) == 0,
    "default message size must be whole MiB");
_Static_assert(NOTIFY_LEASE_DEFAULT_SECS % (24 * 3600) == 0,
    "default lease must be whole days");

/* Every key, so duplicates and conflicts can name where a value came from. */
enum config_key {
	KEY_DATA_DIR,
	KEY_LISTEN,
	KEY_DOMAINS,
	KEY_HOSTNAME,
	KEY_USER,
	KEY_IMAP_PORT,
	KEY_IMAP_IDLE_KEEPALIVE,
	KEY_IMAP_MAX_CONN_USER,
	KEY_IMAP_MAX_CONN_IP,
	KEY_LMTP_PORT,
	KEY_LMTP_MAX_MESSAGE_SIZE,
	KEY_ADMIN_PORT,
	KEY_NOTIFY_ENABLED,
	KEY_NOTIFY_UDP_PORT,
	KEY_NOTIFY_KEEPALIVE,
	KEY_NOTIFY_LEASE,
	KEY_NOTIFY_MAX_REG_USER,
	KEY_NOTIFY_MAX_REG,
	KEY_COUNT
};

/* State of one parse: the config being filled and where we are. */
struct config_parse {
	struct mb_config *cfg;
	const char *name;	/* file name used in error messages */

	/* input: a FILE, or a string when fp is NULL */
	FILE *fp;
	const char *str;

	unsigned line;		/* line most recently handed to inih */
	unsigned key_line[KEY_COUNT]; /* line each key was set on (0: not) */
	bool failed;		/* error[] holds the first error */
	char error[CONFIG_LINE_MAX + 256];
};

typedef int config_value_func(struct config_parse *p, const char *value,
    const char **reason_r);

/* How a number key's value is written. */
enum config_number {
	CONFIG_NUMBER_PLAIN,	/* digits */
	CONFIG_NUMBER_SECONDS,	/* a duration: digits, then s, m, h or d */
};

/* One key: where it goes, and how its value is read. */
struct config_key_def {
	const char *section;
	const char *name;
	enum config_key key;
	/* The function that reads the value; NULL for a number key, read by
	 * parse_number() with the fields below. */
	config_value_func *parse;

	/* A number key: how it is written, where in struct mb_config it is
	 * stored (an unsigned or uint16_t field), its bounds, and the error
	 * for a value that is not such a number. */
	enum config_number number;
	size_t offset;
	size_t size;
	uint64_t min;
	uint64_t max;
	const char *reason;
};

static const char *const config_sections[] = {
	"server", "imap", "lmtp", "admin", "notify",
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

/* Split value, a comma and/or space separated list, in a copy made in
 * copy; returns the count of non-empty items stored in items_r, or -1
 * with *reason_r set if value is too long or has more than max items
 * (too_many then). */
static int
split_list(const char *value, char copy[CONFIG_LINE_MAX + 1],
    char **items_r, size_t max, const char *too_many, const char **reason_r)
{
	size_t n = 0;
	char *tok, *save = NULL;

	if (strlen(value) > CONFIG_LINE_MAX) {
		*reason_r = "value too long";
		return -1;
	}
	strcpy(copy, value);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (n == max) {
			*reason_r = too_many;
			return -1;
		}
		items_r[n++] = tok;
	}
	return (int)n;
}

/* Replace the list of count strings in list with copies of the n items. */
static void
set_list(char **list, size_t *count, char *const *items, size_t n)
{
	size_t i;

	for (i = 0; i < *count; i++) {
		free(list[i]);
		list[i] = NULL;
	}
	for (i = 0; i < n; i++)
		list[i] = xstrdup(items[i]);
	*count = n;
}

/* A DNS name: dot-separated labels of letters, digits and '-', each 1..63
 * bytes and not starting or ending with '-' (RFC 1123 2.1). */
static bool
dns_name_valid(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len == 0 || len > DOMAIN_MAX)
		return false;
	for (i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		label++;
	}
	return true;
}

static int
parse_string(char **dst, const char *value, const char **reason_r)
{
	if (*value == '\0') {
		*reason_r = "must not be empty";
		return -1;
	}
	free(*dst);
	*dst = xstrdup(value);
	return 0;
}

static int
parse_data_dir(struct config_parse *p, const char *value,
    const char **reason_r)
{
	if (strlen(value) >= PATH_MAX - 64) {
		*reason_r = "path too long";
		return -1;
	}
	return parse_string(&p->cfg->data_dir, value, reason_r);
}

static int
parse_listen(struct config_parse *p, const char *value, const char **reason_r)
{
	char copy[CONFIG_LINE_MAX + 1];
	char *items[CONFIG_LISTEN_MAX];
	char addrs[CONFIG_LISTEN_MAX][INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	struct mb_config *cfg = p->cfg;
	size_t i, j, len;
	bool any = false;
	int n;

	if ((n = split_list(value, copy, items, CONFIG_LISTEN_MAX,
	    "too many addresses (at most " MB_STR(CONFIG_LISTEN_MAX) ")",
	    reason_r)) < 0)
		return -1;
	if (n == 0) {
		*reason_r = "needs at least one address";
		return -1;
	}
	for (i = 0; i < (size_t)n; i++) {
		char *a = items[i];

		if (strcmp(a, "*") == 0) {
			any = true;
			strcpy(addrs[i], "*");
			continue;
		}
		/* accept [::1] as written in URLs */
		len = strlen(a);
		if (a[0] == '[' && len > 2 && a[len - 1] == ']') {
			a[len - 1] = '\0';
			a++;
		}
		if (inet_pton(AF_INET, a, bin) == 1)
			inet_ntop(AF_INET, bin, addrs[i], sizeof(addrs[i]));
		else if (inet_pton(AF_INET6, a, bin) == 1)
			inet_ntop(AF_INET6, bin, addrs[i], sizeof(addrs[i]));
		else {
			*reason_r = "not an IPv4 or IPv6 address or \"*\"";
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(addrs[i], addrs[j]) == 0) {
				*reason_r = "address listed twice";
				return -1;
			}
		}
	}
	if (any && n > 1) {
		*reason_r = "\"*\" (every address) cannot be combined with "
		    "other addresses";
		return -1;
	}
	for (i = 0; i < (size_t)n; i++)
		items[i] = addrs[i];
	set_list(cfg->listen, &cfg->listen_count, items, (size_t)n);
	return 0;
}

static int
parse_domains(struct config_parse *p, const char *value,
    const char **reason_r)
{
	char copy[CONFIG_LINE_MAX + 1];
	char *items[CONFIG_DOMAINS_MAX];
	struct mb_config *cfg = p->cfg;
	size_t i, j, len;
	int n;

	if ((n = split_list(value, copy, items, CONFIG_DOMAINS_MAX,
	    "too many domains (at most " MB_STR(CONFIG_DOMAINS_MAX) ")",
	    reason_r)) < 0)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		char *d = items[i];

		for (j = 0; d[j] != '\0'; j++)
			d[j] = (char)tolower((unsigned char)d[j]);
		/* a trailing dot names the same domain */
		len = strlen(d);
		if (len > 1 && d[len - 1] == '.')
			d[len - 1] = '\0';
		if (!dns_name_valid(d)) {
			*reason_r = "not a valid domain name";
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(items[j], d) == 0) {
				*reason_r = "domain listed twice";
				return -1;
			}
		}
	}
	set_list(cfg->domains, &cfg->domain_count, items, (size_t)n);
	return 0;
}

static int
parse_hostname(struct config_parse *p, const char *value,
    const char **reason_r)
{
	if (!dns_name_valid(value)) {
		*reason_r = "not a valid host name";
		return -1;
	}
	return parse_string(&p->cfg->hostname, value, reason_r);
}

/* System account names as useradd(8) accepts them. */
static int
parse_user(struct config_parse *p, const char *value, const char **reason_r)
{
	size_t i, len = strlen(value);

	if (len == 0 || len > 32 || value[0] == '-' ||
	    isdigit((unsigned char)value[0])) {
		*reason_r = "not a valid system user name";
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = value[i];

		if (!isalnum((unsigned char)c) && c != '_' && c != '-' &&
		    c != '.' && !(c == '$' && i == len - 1)) {
			*reason_r = "not a valid system user name";
			return -1;
		}
	}
	return parse_string(&p->cfg->user, value, reason_r);
}

static int
parse_max_message_size(struct config_parse *p, const char *value,
    const char **reason_r)
{
	uint64_t n;

	if (str_to_size(value, LMTP_MESSAGE_SIZE_MAX, &n) < 0 || n == 0) {
		*reason_r = "not a size between 1 and 1G (digits with an "
		    "optional K, M or G suffix)";
		return -1;
	}
	p->cfg->lmtp_max_message_size = n;
	return 0;
}

static int
parse_bool(bool *dst, const char *value, const char **reason_r)
{
	static const char *const yes[] = {"yes", "true", "on"};
	static const char *const no[] = {"no", "false", "off"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*dst = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*dst = false;
			return 0;
		}
	}
	*reason_r = "must be yes or no";
	return -1;
}

static int
parse_notify_enabled(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_bool(&p->cfg->notify_enabled, value, reason_r);
}

/* A number key's value: digits (or, for CONFIG_NUMBER_SECONDS, a
 * duration) between def->min and def->max, stored in its field. */
static int
parse_number(struct config_parse *p, const struct config_key_def *def,
    const char *value, const char **reason_r)
{
	char *field = (char *)p->cfg + def->offset;
	uint64_t n;
	int rc;

	rc = def->number == CONFIG_NUMBER_SECONDS ?
	    str_to_seconds(value, def->max, &n) :
	    str_to_u64(value, def->min, def->max, &n);
	if (rc < 0 || n < def->min) {
		*reason_r = def->reason;
		return -1;
	}
	if (def->size == sizeof(uint16_t)) {
		uint16_t v = (uint16_t)n;

		memcpy(field, &v, sizeof(v));
	} else {
		unsigned v = (unsigned)n;

		assert(def->size == sizeof(v));
		memcpy(field, &v, sizeof(v));
	}
	return 0;
}

/* Table entries: a key read by its own function, a number, a duration,
 * a port. A number key names its unsigned or uint16_t field. */
#define CONFIG_KEY_FUNC(sec, nm, k, fn) \
	{ .section = sec, .name = nm, .key = k, .parse = fn }
#define CONFIG_KEY_NUMBER(sec, nm, k, kind, field, lo, hi, why) \
	{ .section = sec, .name = nm, .key = k, .number = kind, \
	  .offset = offsetof(struct mb_config, field), \
	  .size = sizeof(((struct mb_config *)0)->field), \
	  .min = lo, .max = hi, .reason = why }
#define CONFIG_KEY_PORT(sec, nm, k, field) \
	CONFIG_KEY_NUMBER(sec, nm, k, CONFIG_NUMBER_PLAIN, field, 0, 65535, \
	    "not a port number (0-65535, 0: pick a free one)")

static const struct config_key_def config_keys[] = {
	CONFIG_KEY_FUNC("server", "data_dir", KEY_DATA_DIR, parse_data_dir),
	CONFIG_KEY_FUNC("server", "listen", KEY_LISTEN, parse_listen),
	CONFIG_KEY_FUNC("server", "domains", KEY_DOMAINS, parse_domains),
	CONFIG_KEY_FUNC("server", "hostname", KEY_HOSTNAME, parse_hostname),
	CONFIG_KEY_FUNC("server", "user", KEY_USER, parse_user),
	CONFIG_KEY_PORT("imap", "port", KEY_IMAP_PORT, imap_port),
	/* RFC 2177 clients re-issue IDLE within 29 minutes; a keepalive any
	 * rarer would never be sent. */
	CONFIG_KEY_NUMBER("imap", "idle_keepalive", KEY_IMAP_IDLE_KEEPALIVE,
	    CONFIG_NUMBER_SECONDS, imap_idle_keepalive, 1, 29 * 60,
	    "not a duration between 1s and 29m (digits with an optional s, "
	    "m or h suffix)"),
	CONFIG_KEY_NUMBER("imap", "max_connections_per_user",
	    KEY_IMAP_MAX_CONN_USER, CONFIG_NUMBER_PLAIN,
	    imap_max_connections_per_user, 1, IMAP_SESSIONS_MAX,
	    "not a number between 1 and 4096"),
	CONFIG_KEY_NUMBER("imap", "max_connections_per_ip",
	    KEY_IMAP_MAX_CONN_IP, CONFIG_NUMBER_PLAIN,
	    imap_max_connections_per_ip, 1, IMAP_SESSIONS_MAX,
	    "not a number between 1 and 4096"),
	CONFIG_KEY_PORT("lmtp", "port", KEY_LMTP_PORT, lmtp_port),
	CONFIG_KEY_FUNC("lmtp", "max_message_size", KEY_LMTP_MAX_MESSAGE_SIZE,
	    parse_max_message_size),
	CONFIG_KEY_PORT("admin", "port", KEY_ADMIN_PORT, admin_port),
	CONFIG_KEY_FUNC("notify", "enabled", KEY_NOTIFY_ENABLED,
	    parse_notify_enabled),
	CONFIG_KEY_PORT("notify", "udp_port", KEY_NOTIFY_UDP_PORT,
	    notify_udp_port),
	/* The interval a client is told to send keepalives at: 15 s at the
	 * least (RFC 8085 s3.5), 300 s at the most (RFC 8620 s7.3). */
	CONFIG_KEY_NUMBER("notify", "keepalive", KEY_NOTIFY_KEEPALIVE,
	    CONFIG_NUMBER_SECONDS, notify_keepalive, NOTIFY_KEEPALIVE_MIN_SECS,
	    NOTIFY_KEEPALIVE_MAX_SECS, "not a duration between 15s and 5m "
	    "(digits with an optional s, m or h suffix)"),
	CONFIG_KEY_NUMBER("notify", "lease", KEY_NOTIFY_LEASE,
	    CONFIG_NUMBER_SECONDS, notify_lease, NOTIFY_LEASE_MIN_SECS,
	    NOTIFY_LEASE_MAX_SECS, "not a duration between 1m and 90d (digits "
	    "with an optional s, m, h or d suffix)"),
	CONFIG_KEY_NUMBER("notify", "max_registrations_per_user",
	    KEY_NOTIFY_MAX_REG_USER, CONFIG_NUMBER_PLAIN,
	    notify_max_registrations_per_user, 1, NOTIFY_REGISTRATIONS_MAX,
	    "not a number between 1 and 10000000"),
	CONFIG_KEY_NUMBER("notify", "max_registrations", KEY_NOTIFY_MAX_REG,
	    CONFIG_NUMBER_PLAIN, notify_max_registrations, 1,
	    NOTIFY_REGISTRATIONS_MAX, "not a number between 1 and 10000000"),
};

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
	for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
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
	if ((def->parse != NULL ? def->parse(p, value, &reason) :
	    parse_number(p, def, value, &reason)) < 0) {
		parse_fail(p, "[%s] %s: %s", section, name, reason);
		return 0;
	}
	p->key_line[def->key] = p->line;
	return 1;
}

/* Check a section header line ("[name]") against the known sections, so
 * that even an empty unknown section is an error. */
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
	    "[lmtp] [admin] [notify])", (int)len, line + 1);
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
		{KEY_LMTP_PORT, "[lmtp] port"},
		{KEY_ADMIN_PORT, "[admin] port"},
	};
	const uint16_t ports[] = {
		p->cfg->imap_port, p->cfg->lmtp_port, p->cfg->admin_port,
	};
	size_t i, j;

	for (i = 0; i < 3; i++) {
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

/* Run inih over p's input; 0, or -1 with p->error set. */
static int
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

const char *
config_default_text(void)
{
	static char text[1024];

	if (text[0] == '\0') {
		int n = snprintf(text, sizeof(text),
		    "# mailbell's embedded default configuration\n"
		    "[server]\n"
		    "data_dir = ./var\n"
		    "listen = 127.0.0.1\n"
		    "\n"
		    "[imap]\n"
		    "port = %u\n"
		    "idle_keepalive = %um\n"
		    "max_connections_per_user = %u\n"
		    "max_connections_per_ip = %u\n"
		    "\n"
		    "[lmtp]\n"
		    "port = %u\n"
		    "max_message_size = %lluM\n"
		    "\n"
		    "[admin]\n"
		    "port = %u\n"
		    "\n"
		    "[notify]\n"
		    "enabled = yes\n"
		    "udp_port = %u\n"
		    "keepalive = %us\n"
		    "lease = %ud\n"
		    "max_registrations_per_user = %u\n"
		    "max_registrations = %u\n",
		    CONFIG_DEFAULT_IMAP_PORT,
		    IMAP_IDLE_KEEPALIVE_DEFAULT_SECS / 60,
		    IMAP_CONNECTIONS_PER_USER_DEFAULT,
		    IMAP_CONNECTIONS_PER_IP_DEFAULT,
		    CONFIG_DEFAULT_LMTP_PORT,
		    (unsigned long long)LMTP_MESSAGE_SIZE_DEFAULT /
		    (1024 * 1024),
		    CONFIG_DEFAULT_ADMIN_PORT, CONFIG_DEFAULT_NOTIFY_UDP_PORT,
		    NOTIFY_KEEPALIVE_DEFAULT_SECS,
		    NOTIFY_LEASE_DEFAULT_SECS / (24 * 3600),
		    NOTIFY_REGISTRATIONS_PER_USER_DEFAULT,
		    NOTIFY_REGISTRATIONS_DEFAULT);
		if (n < 0 || (size_t)n >= sizeof(text))
			abort();
	}
	return text;
}

int
config_load(const char *path, struct mb_config **cfg_r, const char **error_r)
{
	struct config_parse *p;
	struct mb_config *cfg;
	char host[256];
	int ret = -1;

	cfg = xcalloc(1, sizeof(*cfg));
	p = xcalloc(1, sizeof(*p));

	/* the default first, then the file on top of it */
	p->cfg = cfg;
	p->name = "(default)";
	p->str = config_default_text();
	if (config_parse_run(p) < 0) {
		*error_r = error_code_fmt(ERROR_INVALID, "%s", p->error);
		goto out;
	}
	if (path != NULL) {
		memset(p, 0, sizeof(*p));
		p->cfg = cfg;
		p->name = path;
		cfg->file = xstrdup(path);
		if ((p->fp = fopen(path, "re")) == NULL) {
			*error_r = error_fmt("%s: cannot read: %s", path,
			    strerror(errno));
			goto out;
		}
		ret = config_parse_run(p);
		fclose(p->fp);
		if (ret < 0) {
			*error_r = error_code_fmt(ERROR_INVALID, "%s",
			    p->error);
			goto out;
		}
		ret = -1;
	}
	if (cfg->hostname == NULL) {
		if (gethostname(host, sizeof(host)) < 0 ||
		    memchr(host, '\0', sizeof(host)) == NULL || host[0] == '\0')
			strcpy(host, "localhost");
		cfg->hostname = xstrdup(host);
	}
	*cfg_r = cfg;
	cfg = NULL;
	ret = 0;
out:
	free(p);
	config_free(&cfg);
	return ret;
}

void
config_free(struct mb_config **cfgp)
{
	struct mb_config *cfg = *cfgp;
	size_t i;

	if (cfg == NULL)
		return;
	*cfgp = NULL;
	free(cfg->file);
	free(cfg->data_dir);
	for (i = 0; i < cfg->listen_count; i++)
		free(cfg->listen[i]);
	for (i = 0; i < cfg->domain_count; i++)
		free(cfg->domains[i]);
	free(cfg->hostname);
	free(cfg->user);
	free(cfg);
}

char *
config_passwd_path(const struct mb_config *cfg)
{
	return xasprintf("%s/passwd", cfg->data_dir);
}

char *
config_mail_root(const struct mb_config *cfg)
{
	return xasprintf("%s/mail", cfg->data_dir);
}
