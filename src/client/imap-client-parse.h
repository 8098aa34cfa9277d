/*
 * The pure half of the IMAP client (imap-client-parse.c): where a whole
 * response ends in received bytes, and parsing it. No I/O.
 */
#ifndef MB_CLIENT_IMAP_CLIENT_PARSE_H
#define MB_CLIENT_IMAP_CLIENT_PARSE_H

#include <stddef.h>

#include "client/imap-client.h"

/*
 * Find the end of one whole response at the start of data (avail
 * bytes). Returns 1 with *len_r (through the final CRLF) and
 * *text_end_r (before it), 0 if more input is needed, -1 if it is, or
 * will be, longer than IMAP_CLIENT_RESP_MAX.
 */
int imap_client_resp_find(const unsigned char *data, size_t avail,
    size_t *len_r, size_t *text_end_r);
/* Parse the response line[0, text_end) found above into *resp (its
 * fields allocated; free with imap_client_resp_free()). */
void imap_client_resp_parse(struct imap_client_resp *resp, const char *line,
    size_t text_end);
/* Free what imap_client_resp_parse() allocated and zero *resp. */
void imap_client_resp_free(struct imap_client_resp *resp);

#endif
