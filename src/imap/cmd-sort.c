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
#include "imap/imap-wire.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

static uint32_t
msg_number(const struct imap_cmd *cmd, const struct imap_sort_msg *m)
{
	return cmd->uid ? m->uid : m->seq;
}

/* RFC 5267 4.2: ALL in sort order, runs of ascending consecutive
 * numbers written as ranges. */
static void
write_all(struct imap_cmd *cmd, struct imap_sort_msg **msgs, size_t count,
    struct buf *out)
{
	size_t i = 0;

	(void)buf_append_str(out, " ALL ");
	while (i < count) {
		uint32_t first = msg_number(cmd, msgs[i]), last = first;

		while (i + 1 < count && last != UINT32_MAX &&
		    msg_number(cmd, msgs[i + 1]) == last + 1)
			last = msg_number(cmd, msgs[++i]);
		i++;
		(void)buf_printf(out, first == last ? "%u" : "%u:%u", first,
		    last);
		if (i < count)
			(void)buf_append_str(out, ",");
	}
}

/* RFC 5267 3: "* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n]
 * [ALL set]"; MIN, MAX and ALL are left out when nothing matched. */
static void
write_esearch(struct imap_cmd *cmd, const struct imap_sort *sort,
    struct imap_sort_msg **msgs, size_t count, struct buf *out)
{
	(void)buf_append_str(out, "* ESEARCH (TAG ");
	(void)imap_write_string(out, cmd->tag);
	(void)buf_append_str(out, ")");
	if (cmd->uid)
		(void)buf_append_str(out, " UID");
	if ((sort->returns & IMAP_SORT_RETURN_MIN) && count > 0)
		(void)buf_printf(out, " MIN %u", msg_number(cmd, msgs[0]));
	if ((sort->returns & IMAP_SORT_RETURN_MAX) && count > 0)
		(void)buf_printf(out, " MAX %u",
		    msg_number(cmd, msgs[count - 1]));
	if (sort->returns & IMAP_SORT_RETURN_COUNT)
		(void)buf_printf(out, " COUNT %zu", count);
	if ((sort->returns & IMAP_SORT_RETURN_ALL) && count > 0)
		write_all(cmd, msgs, count, out);
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
	}
	(void)buf_append_str(&out, "\r\n");
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
