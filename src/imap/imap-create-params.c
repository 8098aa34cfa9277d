/*
 * CREATE's parameters (RFC 4466 2.2, RFC 6154 6):
 *
 *   create        = "CREATE" SP mailbox [create-params]
 *   create-params = SP "(" create-param *(SP create-param) ")"
 *   create-param  =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"
 *   use-attr      = "\All" / "\Archive" / "\Drafts" / "\Flagged" /
 *                   "\Junk" / "\Sent" / "\Trash" / "\" atom
 */
#include "imap/imap-create-params.h"

#include "store/store.h"

enum imap_create_params_result
imap_create_params_parse(const struct imap_arg *list, unsigned int count,
    unsigned *uses_r, const char **error_r)
{
	*uses_r = 0;
	if (count == 0) {
		*error_r = "Empty CREATE parameter list";
		return IMAP_CREATE_PARAMS_BAD;
	}
	for (unsigned int i = 0; i < count; i += 2) {
		const struct imap_arg *attrs = &list[i + 1];

		if (!imap_arg_atom_equals(&list[i], "USE")) {
			*error_r = "Unknown CREATE parameter";
			return IMAP_CREATE_PARAMS_BAD;
		}
		if (i + 1 == count || attrs->type != IMAP_ARG_LIST) {
			*error_r = "USE needs a list of attributes";
			return IMAP_CREATE_PARAMS_BAD;
		}
		for (unsigned int k = 0; k < attrs->list_count; k++) {
			const struct imap_arg *at = &attrs->list[k];
			enum store_special_use use;

			if (at->type != IMAP_ARG_ATOM || at->str[0] != '\\' ||
			    at->str[1] == '\0') {
				*error_r = "USE needs a list of attributes";
				return IMAP_CREATE_PARAMS_BAD;
			}
			use = store_special_use_parse(at->str);
			if (use == STORE_SPECIAL_NONE) {
				*error_r = "Special use not supported";
				return IMAP_CREATE_PARAMS_USEATTR;
			}
			*uses_r |= STORE_SPECIAL_BIT(use);
		}
	}
	return IMAP_CREATE_PARAMS_OK;
}
