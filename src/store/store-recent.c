/*
 * \Recent (RFC 3501 2.3.2): the folder index's mark of the first UID no
 * read-write view has claimed yet, kept across restarts in the folder's
 * mailbell-recent file, and the views' side of claiming. Event-loop
 * thread only, like the index: one mailbell daemon claims for a folder.
 *
 * File format (one line): "mailbell-recent 1 <uidvalidity> <uid>\n".
 */
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "store/store-index-private.h"

#define RECENT_MAGIC "mailbell-recent 1 "

/* Parse the file's line into its UIDVALIDITY and UID; -1 if malformed. */
static int
recent_parse(const char *data, size_t len, uint32_t *uidvalidity_r,
    uint32_t *uid_r)
{
	const char *p = data, *end = data + len;
	uint64_t v, u;

	if (len < strlen(RECENT_MAGIC) ||
	    memcmp(p, RECENT_MAGIC, strlen(RECENT_MAGIC)) != 0)
		return -1;
	p += strlen(RECENT_MAGIC);
	if (str_parse_u64(&p, end, UINT32_MAX, &v) < 0 || v == 0 ||
	    p >= end || *p++ != ' ' ||
	    str_parse_u64(&p, end, UINT32_MAX, &u) < 0 || u == 0 ||
	    p >= end || *p++ != '\n' || p != end)
		return -1;
	*uidvalidity_r = (uint32_t)v;
	*uid_r = (uint32_t)u;
	return 0;
}

/* The mark the folder's file holds for ix's UIDVALIDITY, or 1. */
static uint32_t
recent_read(const struct store_index *ix)
{
	char *path = store_index_sub(ix, STORE_RECENT_FILE), *data;
	uint32_t uidvalidity, uid;
	size_t len;
	int ret;

	if (read_file(path, STORE_RECENT_FILE_MAX, &data, &len) < 0) {
		free(path);
		return 1;		/* never claimed: all recent */
	}
	ret = recent_parse(data, len, &uidvalidity, &uid);
	free(data);
	if (ret < 0)
		log_warnx("%s: not a mailbell recent file, every message is "
		    "recent", path);
	free(path);
	if (ret < 0 || uidvalidity != ix->uidvalidity)
		return 1;
	return uid;
}

uint32_t
store_index_recent_uid(struct store_index *ix)
{
	if (ix->recent_uidvalidity == 0 ||
	    ix->recent_uidvalidity != ix->uidvalidity) {
		ix->recent_uid = recent_read(ix);
		ix->recent_uidvalidity = ix->uidvalidity;
	}
	/* A mark beyond UIDNEXT (a UID list put back from a copy) would
	 * keep the next messages from ever being recent. */
	if (ix->recent_uid > ix->uidnext)
		ix->recent_uid = ix->uidnext;
	return ix->recent_uid;
}

void
store_index_recent_claim(struct store_index *ix, uint32_t upto)
{
	char line[STORE_RECENT_FILE_MAX], *path;
	int n;

	if (upto <= store_index_recent_uid(ix))
		return;
	ix->recent_uid = upto;
	if (ix->gone)
		return;
	n = snprintf(line, sizeof(line), RECENT_MAGIC "%" PRIu32 " %" PRIu32
	    "\n", ix->uidvalidity, upto);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	path = store_index_sub(ix, STORE_RECENT_FILE);
	/* Not synced: the claim is written from the loop on every SELECT
	 * and every delivery to a selected folder, and two fsyncs would
	 * hold every session for milliseconds; a crash that loses it only
	 * makes some mail recent again, which RFC 3501 2.3.2 allows. */
	if (write_file_replace(path, line, (size_t)n, 0600) < 0)
		log_warn("%s", path);
	free(path);
}

/* ---- Views ---- */

void
store_view_claim_recent(struct store_view *view)
{
	struct store_index *ix = view->index;
	uint32_t first;
	size_t i;

	view->claims_recent = true;
	if (ix->uidvalidity != view->uidvalidity)
		return;		/* the next refresh closes the view */
	/* Mark again what open marked: a view that refreshed in between
	 * (called back from the open) may have claimed some already. */
	first = store_index_recent_uid(ix);
	view->recent_count = 0;
	for (i = 0; i < view->count; i++) {
		view->msgs[i].recent = view->msgs[i].uid >= first;
		if (view->msgs[i].recent)
			view->recent_count++;
	}
	if (view->count > 0)
		store_index_recent_claim(ix,
		    view->msgs[view->count - 1].uid + 1);
}

uint32_t
store_view_recent_count(const struct store_view *view)
{
	return (uint32_t)view->recent_count;
}

bool
store_view_uid_recent(const struct store_view *view, uint32_t uid)
{
	uint32_t seq = store_view_seq(view, uid);

	return seq > 0 && view->msgs[seq - 1].recent;
}
