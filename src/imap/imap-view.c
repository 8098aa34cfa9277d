/*
 * Sequence sets resolved against the selected view ("$" too), and UID
 * sets written for COPYUID. A view's messages are in ascending UID order
 * (their positions are the sequence numbers), so a UID set is matched by
 * one merge of the set's ranges with the view's array.
 */
#include "imap/imap-view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "imap/imap-search.h"
#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "imap/imap-wire.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* True if str names a number above max (not counting "*"). */
static bool
has_number_above(const char *str, uint32_t max)
{
	const char *p = str;

	while (*p != '\0') {
		uint64_t n;

		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		/* Fails only for a number above max. */
		if (str_parse_u64(&p, NULL, max, &n) < 0)
			return true;
	}
	return false;
}

/* The sequence numbers of the view's messages whose UIDs are in
 * uids[0 .. n) (ascending): one merge of the two ascending arrays. */
static void
resolve_uids(struct store_view *view, const uint32_t *uids, size_t n,
    uint32_t **seqs_r, size_t *count_r)
{
	const struct store_view_message *msgs = store_view_messages(view);
	uint32_t count = store_view_count(view), i = 0;
	uint32_t *seqs = NULL;
	size_t k = 0, found = 0;

	if (n > 0 && count > 0)
		seqs = xreallocarray(NULL, n < count ? n : count,
		    sizeof(*seqs));
	while (k < n && i < count) {
		if (msgs[i].uid < uids[k])
			i++;
		else if (msgs[i].uid > uids[k])
			k++;
		else {
			seqs[found++] = i + 1;
			i++;
			k++;
		}
	}
	if (found == 0) {
		free(seqs);
		seqs = NULL;
	}
	*seqs_r = seqs;
	*count_r = found;
}

int
imap_view_resolve(struct store_view *view, const char *str, bool uid,
    const struct imap_searchres *saved, uint32_t **seqs_r, size_t *count_r,
    const char **error_r)
{
	const struct store_view_message *msgs = store_view_messages(view);
	uint32_t count = store_view_count(view);
	const struct imap_seq_range *r;
	struct imap_seqset *set;
	uint32_t *seqs = NULL;
	size_t n = 0, cap = 0;
	unsigned int nr;

	*seqs_r = NULL;
	*count_r = 0;
	if (strcmp(str, "$") == 0) {
		resolve_uids(view, saved->uids, saved->count, seqs_r, count_r);
		return 0;
	}
	if (imap_seqset_parse(str, &set, error_r) < 0)
		return -1;
	if (!uid) {
		if (has_number_above(str, count)) {
			imap_seqset_free(&set);
			*error_r = "Invalid message sequence number";
			return -1;
		}
		r = imap_seqset_ranges(set, count, &nr);
		for (unsigned int i = 0; i < nr; i++)
			cap += (size_t)(r[i].hi - r[i].lo) + 1;
		if (cap > 0)
			seqs = xreallocarray(NULL, cap, sizeof(*seqs));
		for (unsigned int i = 0; i < nr; i++)
			for (uint64_t s = r[i].lo; s <= r[i].hi; s++)
				seqs[n++] = (uint32_t)s;
	} else if (count > 0) {
		uint32_t i = 0;

		r = imap_seqset_ranges(set, msgs[count - 1].uid, &nr);
		for (unsigned int k = 0; k < nr && i < count; k++) {
			while (i < count && msgs[i].uid < r[k].lo)
				i++;
			while (i < count && msgs[i].uid <= r[k].hi) {
				if (n == cap) {
					cap = cap == 0 ? 64 : cap * 2;
					seqs = xreallocarray(seqs, cap,
					    sizeof(*seqs));
				}
				seqs[n++] = i + 1;
				i++;
			}
		}
	}
	imap_seqset_free(&set);
	if (n == 0) {
		free(seqs);
		seqs = NULL;
	}
	*seqs_r = seqs;
	*count_r = n;
	return 0;
}

uint32_t *
imap_view_uids(struct store_view *view, const uint32_t *seqs, size_t count)
{
	const struct store_view_message *msgs = store_view_messages(view);
	uint32_t *uids = xreallocarray(NULL, count > 0 ? count : 1,
	    sizeof(*uids));

	for (size_t i = 0; i < count; i++)
		uids[i] = msgs[seqs[i] - 1].uid;
	return uids;
}

/* Read a whole file into b (initialised here). */
static int
read_fd(int fd, struct buf *b, const char **error_r)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		*error_r = error_fmt("%s", strerror(errno));
		return -1;
	}
	if ((uint64_t)st.st_size > IMAP_FETCH_MESSAGE_MAX) {
		*error_r = "message file too large";
		return -1;
	}
	buf_init(b, IMAP_FETCH_MESSAGE_MAX);
	for (;;) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = error_fmt("%s", strerror(errno));
			buf_free(b);
			return -1;
		}
		if (n == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)n) < 0) {
			*error_r = "message file too large";
			buf_free(b);
			return -1;
		}
	}
}

/* The length of the header in data[0 .. len), its empty line included,
 * looking for that line from offset from on; 0 if it is not there yet. */
static size_t
header_len(const unsigned char *data, size_t len, size_t from)
{
	/* An empty header: the message starts with its empty line. */
	if (len > 0 && data[0] == '\n')
		return 1;
	if (len > 1 && data[0] == '\r' && data[1] == '\n')
		return 2;
	for (size_t i = from; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int
imap_view_read_header(struct store_view *view, uint32_t uid,
    struct buf *raw, const char **error_r)
{
	size_t scanned = 0, end = 0;
	int fd;

	if (store_view_message_open(view, uid, &fd, error_r) < 0)
		return -1;
	buf_init(raw, IMAP_FETCH_MESSAGE_MAX);
	while (end == 0) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = error_fmt("%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(raw, chunk, (size_t)n) < 0) {
			*error_r = "message header too large";
			goto fail;
		}
		/* Look again from a little before the new bytes: the empty
		 * line may straddle two reads. */
		end = header_len(raw->data, raw->len,
		    scanned > 2 ? scanned - 2 : 0);
		scanned = raw->len;
	}
	close(fd);
	if (end > 0) {
		raw->len = end;
		raw->data[end] = '\0';
	}
	return 0;
fail:
	close(fd);
	buf_free(raw);
	return -1;
}

static int
keyword_find_cb(const char *name, void *ctx)
{
	return store_view_keyword_find(ctx, name);
}

void
imap_view_search_prepare(struct imap_search *search,
    const struct store_view *view)
{
	imap_search_resolve_keywords(search, keyword_find_cb, (void *)view);
}

void
imap_view_search_msg(const struct store_view *view, uint32_t i,
    struct imap_search_msg *m_r)
{
	const struct store_view_message *msg = &store_view_messages(view)[i];

	*m_r = (struct imap_search_msg){
		.seq = i + 1,
		.uid = msg->uid,
		.flags = msg->flags,
		.recent = msg->recent,
		.keywords = msg->keywords,
		.modseq = msg->modseq,
	};
}

void
imap_view_slice_begin(struct imap_view_slice *slice)
{
	slice->start_ms = clock_now_ms();
	slice->calls = 0;
}

bool
imap_view_slice_over(struct imap_view_slice *slice)
{
	/* Reading the clock costs little, but not nothing per message. */
	if (++slice->calls % 16 != 0)
		return false;
	return clock_now_ms() - slice->start_ms >= IMAP_COMMAND_SLICE_MS;
}

void
imap_view_slice_yield(struct event *ev)
{
	static const struct timeval now = { 0, 0 };

	/* A zero timeout fires after the next poll, unlike event_active(),
	 * whose callbacks libevent runs in the same pass as the caller's. */
	evtimer_add(ev, &now);
}

int
imap_view_read_message(struct store_view *view, uint32_t uid,
    struct buf *raw, const char **error_r)
{
	int fd, ret;

	if (store_view_message_open(view, uid, &fd, error_r) < 0)
		return -1;
	ret = read_fd(fd, raw, error_r);
	close(fd);
	return ret;
}

/* The arguments of COPY and MOVE: 0 with the UIDs named (malloc'd, in
 * view order) and the target's store name, or -1 after answering BAD or
 * NO [CANNOT]. */
static int
transfer_args(struct imap_cmd *cmd, uint32_t **uids_r, size_t *count_r,
    char name_r[FOLDER_NAME_MAX + 1])
{
	struct store_view *view = cmd->session->view;
	const char *set, *wire, *error;
	uint32_t *seqs;

	if (cmd->args_count != 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(&cmd->args[0], &set) ||
	    !imap_arg_get_astring(&cmd->args[1], &wire)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s needs a sequence set and "
		    "a mailbox name", cmd->name);
		return -1;
	}
	if (imap_view_resolve(view, set, cmd->uid, &cmd->session->searchres,
	    &seqs, count_r, &error) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return -1;
	}
	if (imap_mailbox_from_wire(wire, name_r, &error) < 0) {
		free(seqs);
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return -1;
	}
	*uids_r = imap_view_uids(view, seqs, *count_r);
	free(seqs);
	return 0;
}

int
imap_view_transfer(struct imap_cmd *cmd, bool move, struct buf *code_r)
{
	struct imap_session *session = cmd->session;
	char name[FOLDER_NAME_MAX + 1];
	struct store_uid_map *map = NULL;
	uint32_t *uids;
	size_t count;
	const char *error;
	int ret;

	if (transfer_args(cmd, &uids, &count, name) < 0)
		return 0;
	if (move && session->read_only) {
		free(uids);
		imap_cmd_tagged(cmd, "NO", NULL, "Mailbox is read-only");
		return 0;
	}
	if (count == 0) {
		free(uids);
		imap_cmd_tagged(cmd, "OK", NULL, "No messages %s",
		    move ? "moved" : "copied");
		return 0;
	}
	ret = move ?
	    store_view_move(session->view, uids, count, name, &map, &error) :
	    store_view_copy(session->view, uids, count, name, &map, &error);
	free(uids);
	if (ret < 0) {
		if (error_code(error) == ERROR_NOT_FOUND)
			imap_cmd_tagged(cmd, "NO", "TRYCREATE", "Mailbox does "
			    "not exist");
		else
			imap_cmd_store_error(cmd, move ? "move" : "copy",
			    error);
		return 0;
	}
	if (map->count == 0) {
		store_uid_map_free(&map);
		imap_cmd_tagged(cmd, "NO", "EXPUNGEISSUED", "Messages were "
		    "expunged");
		return 0;
	}
	buf_init(code_r, 0);
	(void)buf_printf(code_r, "COPYUID %u ", map->uidvalidity);
	(void)imap_write_uidset(code_r, map->src_uids, map->count);
	(void)buf_append(code_r, " ", 1);
	(void)imap_write_uidset(code_r, map->dest_uids, map->count);
	store_uid_map_free(&map);
	return 1;
}

/* The names of view's keywords by number, NULL where there is none. */
static void
keyword_names(const struct store_view *view,
    const char *names[KEYWORDS_MAX])
{
	for (unsigned int i = 0; i < KEYWORDS_MAX; i++)
		names[i] = store_view_keyword(view, i);
}

int
imap_view_write_flags(struct buf *b, const struct store_view *view,
    unsigned int flags, uint32_t keywords)
{
	const char *names[KEYWORDS_MAX];

	keyword_names(view, names);
	return imap_write_flag_list(b, flags, keywords, names);
}

int
imap_view_write_flag_names(struct buf *b, const struct store_view *view,
    bool permanent)
{
	const char *names[KEYWORDS_MAX];
	size_t old = b->len;

	keyword_names(view, names);
	if (imap_write_flag_list(b, STORE_FLAG_REPLIED | STORE_FLAG_FLAGGED |
	    STORE_FLAG_TRASHED | STORE_FLAG_SEEN | STORE_FLAG_DRAFT |
	    STORE_FLAG_PASSED, UINT32_MAX, names) < 0)
		return -1;
	if (!permanent || store_view_keyword_count(view) >= KEYWORDS_MAX)
		return 0;
	/* The list ends in ')': "\*" goes before it. */
	b->len--;
	if (buf_append_str(b, " \\*)") < 0) {
		b->len = old;
		if (b->data != NULL)
			b->data[old] = '\0';
		return -1;
	}
	return 0;
}
