/*
 * THREAD and UID THREAD (RFC 5256 3): ORDEREDSUBJECT and REFERENCES
 * over the messages a search program picks, gathered by imap-collect.c
 * and threaded by imap-thread.c: "* THREAD (2)(3 6 (4 23)(44 7 96))".
 */
#include "imap/imap-commands.h"

#include <stdlib.h>

#include "imap/imap-collect.h"
#include "imap/imap-thread.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

static void
thread_done_cb(struct imap_cmd *cmd, struct imap_sort_msg **msgs,
    size_t count, void *arg)
{
	const enum imap_thread_algorithm *algorithm = arg;
	struct buf out;

	buf_init(&out, 0);
	/* RFC 5256 4: "THREAD" [SP 1*thread-list] */
	(void)buf_append_str(&out, count > 0 ? "* THREAD " : "* THREAD");
	imap_thread_build(*algorithm, msgs, count, cmd->uid, &out);
	(void)buf_append_str(&out, "\r\n");
	imap_session_write(cmd->session, out.data, out.len);
	buf_free(&out);
}

void
cmd_thread(struct imap_cmd *cmd)
{
	enum imap_thread_algorithm *algorithm;
	struct imap_search *search;
	enum imap_search_error code;
	const char *error;

	algorithm = xcalloc(1, sizeof(*algorithm));
	if (imap_thread_parse(cmd->args, cmd->args_count, algorithm, &search,
	    &code, &error) < 0) {
		free(algorithm);
		if (code == IMAP_SEARCH_ERROR_BADCHARSET)
			imap_cmd_tagged(cmd, "NO", "BADCHARSET (UTF-8 US-ASCII)",
			    "%s", error);
		else
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	imap_collect_start(cmd, search, true, thread_done_cb, algorithm, free);
}
