/*
 * CREATE's parameter list (RFC 4466 create-param) with RFC 6154's USE
 * parameter: CREATE MySpecial (USE (\Drafts \Sent)). No I/O.
 */
#ifndef MB_IMAP_IMAP_CREATE_PARAMS_H
#define MB_IMAP_IMAP_CREATE_PARAMS_H

#include "imap/imap-parser.h"

enum imap_create_params_result {
	IMAP_CREATE_PARAMS_OK = 0,
	IMAP_CREATE_PARAMS_BAD = -1,	/* not the grammar, or an unknown
					 * parameter (RFC 4466: BAD) */
	IMAP_CREATE_PARAMS_USEATTR = -2, /* a use the store cannot give:
					 * NO [USEATTR] (RFC 6154 3) */
};

/*
 * Read the elements of CREATE's parenthesised parameter list: USE
 * followed by a list of use-attrs, any number of times. *uses_r gets
 * the STORE_SPECIAL_BIT()s asked for; on error *error_r is a text for
 * the reply.
 */
enum imap_create_params_result imap_create_params_parse(
    const struct imap_arg *list, unsigned int count, unsigned *uses_r,
    const char **error_r);

#endif
