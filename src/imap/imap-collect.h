/*
 * What SORT and THREAD share: run a search program over the selected
 * view in time slices (as SEARCH does) and gather the sort keys of
 * every message that matches (imap-sort.h), then hand them over.
 */
#ifndef MB_IMAP_IMAP_COLLECT_H
#define MB_IMAP_IMAP_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap-search.h"
#include "imap/imap-session.h"
#include "imap/imap-sort.h"

/*
 * Called once every message was tried, with the matching messages in
 * sequence order (msgs may be reordered; the collector frees them
 * afterwards). It writes the untagged response; the collector then
 * answers the tagged OK (with EXPUNGEISSUED if a message needed was
 * gone). arg is the caller's, as given to imap_collect_start().
 */
typedef void imap_collect_done_cb(struct imap_cmd *cmd,
    struct imap_sort_msg **msgs, size_t count, void *arg);

/*
 * Start collecting for cmd: search (owned from now on) picks the
 * messages; with need_header every match's keys are taken from the
 * server's sort-key cache (imap-sort-cache.h; borrowed: they live until
 * the collector frees them) or its header is read and parsed for them
 * and they are kept there (without need_header only size and internal
 * date are set). arg
 * is freed with arg_free (may be NULL) when the command ends, answered
 * or aborted. The collector owns cmd->ctx and cmd->abort_cb.
 */
void imap_collect_start(struct imap_cmd *cmd, struct imap_search *search,
    bool need_header, imap_collect_done_cb *done_cb, void *arg,
    void (*arg_free)(void *arg));

#endif
