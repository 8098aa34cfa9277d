/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8): the program is parsed
 * by imap-search.c and tried on every message of the view, first with
 * what memory holds (flags, UID, sequence number, then size and internal
 * date from the store's index), and only when that cannot decide with
 * the message file parsed.
 */
#include "imap/imap-commands.h"

#include <stdlib.h>

#include "imap/imap-search.h"
#include "imap/imap-view.h"
#include "lib/log.h"
#include "store/message.h"
#include "store/store.h"

/* Decide one message; 1 if it matches. */
static int
search_one(struct imap_cmd *cmd, struct imap_search *search,
    struct imap_search_msg *m, uint32_t max_seq, uint32_t max_uid)
{
	struct imap_session *session = cmd->session;
	struct store_message_info info;
	struct message *msg = NULL;
	struct buf raw;
	const char *error;
	bool expunged;
	int r;

	if ((r = imap_search_match(search, m, max_seq, max_uid)) >= 0)
		return r;
	if (search->need_info) {
		/* A message expunged meanwhile matches nothing. */
		if (store_view_message_info(session->view, m->uid, &info,
		    &error) < 0)
			return 0;
		m->have_info = true;
		m->size = info.size;
		m->internal_date = info.internal_date;
		if ((r = imap_search_match(search, m, max_seq, max_uid)) >= 0)
			return r;
	}
	if (imap_view_read_message(session->view, m->uid, &raw, &expunged,
	    &error) < 0) {
		if (!expunged)
			log_warnx("imap: %s: %s: search %s uid %u: %s",
			    session->peer, session->user, session->mailbox,
			    m->uid, error);
		return 0;
	}
	if (message_parse(raw.data, raw.len, &msg, &error) < 0) {
		log_warnx("imap: %s: %s: search %s uid %u: %s", session->peer,
		    session->user, session->mailbox, m->uid, error);
		buf_free(&raw);
		return 0;
	}
	buf_free(&raw);
	m->msg = msg;
	r = imap_search_match(search, m, max_seq, max_uid);
	m->msg = NULL;
	message_free(&msg);
	return r > 0;
}

void
cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct store_view *view = session->view;
	const struct store_view_message *msgs;
	struct imap_search *search;
	enum imap_search_error code;
	uint32_t count, max_uid;
	const char *error;
	struct buf out;

	if (imap_search_parse(cmd->args, cmd->args_count, &search, &code,
	    &error) < 0) {
		if (code == IMAP_SEARCH_ERROR_BADCHARSET)
			imap_cmd_tagged(cmd, "NO", "BADCHARSET (UTF-8 US-ASCII)",
			    "%s", error);
		else
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}

	count = store_view_count(view);
	msgs = store_view_messages(view);
	max_uid = count > 0 ? msgs[count - 1].uid : 0;
	buf_init(&out, 0);
	(void)buf_append_str(&out, "* SEARCH");
	for (uint32_t i = 0; i < count; i++) {
		struct imap_search_msg m = {
			.seq = i + 1,
			.uid = msgs[i].uid,
			.flags = msgs[i].flags,
		};

		if (search_one(cmd, search, &m, count, max_uid) == 1)
			(void)buf_printf(&out, " %u", cmd->uid ? m.uid : m.seq);
	}
	(void)buf_append_str(&out, "\r\n");
	imap_session_write(session, out.data, out.len);
	buf_free(&out);
	imap_search_free(&search);
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}
