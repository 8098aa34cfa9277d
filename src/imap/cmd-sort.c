/*
 * SORT and UID SORT (RFC 5256 3), with RFC 5957's DISPLAYFROM and
 * DISPLAYTO and RFC 5267's RETURN options (ESORT): the program is
 * parsed by imap-sort.c, the matching messages and their keys gathered
 * by imap-collect.c, ordered, and answered "* SORT 5 3 4 1 2", or with
 * RETURN "* ESEARCH (TAG "a") UID MIN 5 MAX 2 COUNT 5 ALL 5,3:4,1:2".
 */
#include "imap/imap-commands.h"

#include <stdlib.h>

#include "imap/imap-collect.h"
#include "imap/imap-sort.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

static uint32_t
msg_number(const struct imap_cmd *cmd, const struct imap_sort_msg *m)
{
	return cmd->uid ? m->uid : m->seq;
}

/* RFC 5267 3: the ESEARCH response, its numbers in sort order. */
static void
write_esearch(struct imap_cmd *cmd, const struct imap_sort *sort,
    struct imap_sort_msg **msgs, size_t count, struct buf *out)
{
	uint32_t *ids = xreallocarray(NULL, count + 1, sizeof(*ids));

	for (size_t i = 0; i < count; i++)
		ids[i] = msg_number(cmd, msgs[i]);
	(void)imap_search_write_esearch(out, cmd->tag, cmd->uid, sort->returns,
	    ids, count);
	free(ids);
}

static void
sort_done_cb(struct imap_cmd *cmd, struct imap_sort_msg **msgs,
    size_t count, void *arg)
{
	const struct imap_sort *sort = arg;
	struct buf out;

	imap_sort_msgs(sort, msgs, count);
	buf_init(&out, 0);
	if (sort->esort)
		write_esearch(cmd, sort, msgs, count, &out);
	else {
		(void)buf_append_str(&out, "* SORT");
		for (size_t i = 0; i < count; i++)
			(void)buf_printf(&out, " %u", msg_number(cmd, msgs[i]));
		(void)buf_append_str(&out, "\r\n");
	}
	imap_session_write(cmd->session, out.data, out.len);
	buf_free(&out);
}

static void
sort_free_cb(void *arg)
{
	struct imap_sort *sort = arg;

	imap_sort_free(&sort);
}

void
cmd_sort(struct imap_cmd *cmd)
{
	struct imap_sort *sort;
	struct imap_search *search;
	enum imap_search_error code;
	const char *error;

	if (imap_sort_parse(cmd->args, cmd->args_count, &sort, &code,
	    &error) < 0) {
		if (code == IMAP_SEARCH_ERROR_BADCHARSET)
			imap_cmd_tagged(cmd, "NO", "BADCHARSET (UTF-8 US-ASCII)",
			    "%s", error);
		else
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	search = sort->search;
	sort->search = NULL;
	imap_collect_start(cmd, search, sort->need_header, sort_done_cb, sort,
	    sort_free_cb);
}
