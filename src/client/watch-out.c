/*
 * `mailbell watch` output: event lines in plain text or JSON, header
 * decoding for From and Subject, and the --exec children.
 */
#include "client/watch-out.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/wait.h>

#include <gmime/gmime.h>

#include "lib/buf.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static bool gmime_ready;

/* ---- Lines ---- */

/* s as a JSON string, quotes included. s is valid UTF-8. */
static void
json_str(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	(void)json_escape(b, s, strlen(s));
	buf_append(b, "\"", 1);
}

/* s quoted for the plain line: backslash before " and \, control
 * characters as one space each, so one event stays one line. */
static void
plain_str(struct buf *b, const char *s)
{
	const unsigned char *p;

	buf_append(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_append(b, "\\", 1);
		if (*p < 0x20 || *p == 0x7f)
			buf_append(b, " ", 1);
		else
			buf_append(b, p, 1);
	}
	buf_append(b, "\"", 1);
}

/* A folder name bare when it is one word, else quoted. */
static void
plain_folder(struct buf *b, const char *s)
{
	if (s[0] != '\0' && strpbrk(s, " \"\\=") == NULL)
		buf_append_str(b, s);
	else
		plain_str(b, s);
}

static int
emit(struct buf *b)
{
	int ret = 0;

	buf_append(b, "\n", 1);
	if (fwrite(b->data, 1, b->len, stdout) != b->len ||
	    fflush(stdout) != 0)
		ret = -1;
	buf_free(b);
	return ret;
}

int
watch_out_ready(bool json, const char *via)
{
	struct buf b;

	buf_init(&b, 0);
	if (json)
		buf_printf(&b, "{\"event\":\"ready\",\"via\":\"%s\"}", via);
	else
		buf_printf(&b, "ready via %s", via);
	return emit(&b);
}

int
watch_out_event(bool json, const struct watch_mail *m)
{
	struct buf b;

	buf_init(&b, 0);
	if (json) {
		buf_append_str(&b, "{\"event\":");
		json_str(&b, m->event);
		buf_append_str(&b, ",\"folder\":");
		json_str(&b, m->folder);
		buf_printf(&b, ",\"uid\":%u,\"uidvalidity\":%u,\"via\":",
		    m->uid, m->uidvalidity);
		json_str(&b, m->via);
		if (m->is_new) {
			buf_append_str(&b, ",\"from\":");
			if (m->from != NULL)
				json_str(&b, m->from);
			else
				buf_append_str(&b, "null");
			buf_append_str(&b, ",\"subject\":");
			if (m->subject != NULL)
				json_str(&b, m->subject);
			else
				buf_append_str(&b, "null");
		}
		buf_append_str(&b, "}");
	} else {
		buf_printf(&b, "%s ", m->event);
		plain_folder(&b, m->folder);
		buf_printf(&b, " uid=%u", m->uid);
		if (m->is_new) {
			buf_append_str(&b, " from=");
			plain_str(&b, m->from != NULL ? m->from : "");
			buf_append_str(&b, " subject=");
			plain_str(&b, m->subject != NULL ? m->subject : "");
		}
		buf_printf(&b, " via=%s", m->via);
	}
	return emit(&b);
}

/* ---- Headers ---- */

/* The field's value: continuation lines joined (their CRLF removed, the
 * white space kept, RFC 5322 2.2.3), surrounding white space trimmed. */
static char *
field_value(const char *v, const char *end)
{
	struct buf b;
	const char *p;
	char *s;
	size_t start, len;

	buf_init(&b, 0);
	for (p = v; p < end; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		buf_append(&b, p, 1);
	}
	s = b.data != NULL ? (char *)b.data : xstrdup("");
	len = strlen(s);
	for (start = 0; s[start] == ' ' || s[start] == '\t'; start++)
		;
	while (len > start && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
	return s;
}

static char *
decode(const char *raw)
{
	char *dec, *valid, *out;

	if (!gmime_ready) {
		g_mime_init();
		gmime_ready = true;
	}
	dec = g_mime_utils_header_decode_text(NULL, raw);
	valid = g_utf8_make_valid(dec != NULL ? dec : raw, -1);
	out = xstrdup(valid);
	g_free(valid);
	g_free(dec);
	return out;
}

void
watch_out_headers(const char *block, size_t len, char **from_r,
    char **subject_r)
{
	const char *p = block, *end = block + len, *line, *eol, *colon;
	const char *vstart, *vend;
	char *raw, **slot;

	*from_r = NULL;
	*subject_r = NULL;
	while (p < end) {
		line = p;
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol == NULL ? end : eol + 1;
		p = eol;
		if (line[0] == '\r' || line[0] == '\n')
			break;		/* the blank line ends the header */
		if (line[0] == ' ' || line[0] == '\t')
			continue;	/* a continuation of a field we skip */
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL)
			continue;
		if ((size_t)(colon - line) == 4 &&
		    strncasecmp(line, "From", 4) == 0)
			slot = from_r;
		else if ((size_t)(colon - line) == 7 &&
		    strncasecmp(line, "Subject", 7) == 0)
			slot = subject_r;
		else
			continue;
		vstart = colon + 1;
		/* the value runs on over continuation lines */
		while (p < end && (*p == ' ' || *p == '\t')) {
			eol = memchr(p, '\n', (size_t)(end - p));
			p = eol == NULL ? end : eol + 1;
		}
		vend = p;
		if (*slot != NULL)
			continue;	/* the first one counts */
		raw = field_value(vstart, vend);
		*slot = decode(raw);
		free(raw);
	}
}

/* ---- --exec ---- */

int
watch_out_exec(const char *cmd, const struct watch_mail *m)
{
	char num[16];
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		log_warn("watch: cannot run the --exec command");
		return -1;
	}
	if (pid > 0)
		return 0;

	/* The child: facts in the environment, never in the command. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	setenv("MAILBELL_EVENT", m->event, 1);
	setenv("MAILBELL_FOLDER", m->folder, 1);
	snprintf(num, sizeof(num), "%u", m->uid);
	setenv("MAILBELL_UID", num, 1);
	snprintf(num, sizeof(num), "%u", m->uidvalidity);
	setenv("MAILBELL_UIDVALIDITY", num, 1);
	setenv("MAILBELL_FROM", m->from != NULL ? m->from : "", 1);
	setenv("MAILBELL_SUBJECT", m->subject != NULL ? m->subject : "", 1);
	setenv("MAILBELL_VIA", m->via, 1);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

void
watch_out_reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("watch: --exec command (pid %ld) exited %d",
			    (long)pid, WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			log_warnx("watch: --exec command (pid %ld) killed by "
			    "signal %d", (long)pid, WTERMSIG(status));
	}
}

void
watch_out_deinit(void)
{
	if (gmime_ready)
		g_mime_shutdown();
	gmime_ready = false;
}
