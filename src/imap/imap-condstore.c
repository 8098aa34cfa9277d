/*
 * CONDSTORE and QRESYNC arguments (RFC 7162 section 7 grammar) from the
 * parser's argument tree. Pure: unit-tested on commands parsed byte by
 * byte.
 */
#include "imap/imap-condstore.h"

#include <string.h>
#include <strings.h>

#include "imap/imap-seqset.h"

int
imap_modseq_parse(const char *s, bool zero_ok, uint64_t *modseq_r,
    const char **error_r)
{
	uint64_t v = 0;
	const char *p;

	if (s[0] == '\0' || strlen(s) > 19) {
		*error_r = "Invalid mod-sequence value";
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			*error_r = "Invalid mod-sequence value";
			return -1;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > (uint64_t)IMAP_MODSEQ_MAX || (v == 0 && !zero_ok)) {
		*error_r = "Mod-sequence value out of range";
		return -1;
	}
	*modseq_r = v;
	return 0;
}

/* An atom argument that is a mod-sequence value. */
static int
arg_modseq(const struct imap_arg *arg, bool zero_ok, uint64_t *modseq_r,
    const char **error_r)
{
	const char *s;

	if (arg->type != IMAP_ARG_ATOM || !imap_arg_get_atom(arg, &s)) {
		*error_r = "Invalid mod-sequence value";
		return -1;
	}
	return imap_modseq_parse(s, zero_ok, modseq_r, error_r);
}

int
imap_fetch_modifiers_parse(const struct imap_arg *list,
    struct imap_fetch_modifiers *mods_r, const char **error_r)
{
	const struct imap_arg *a;
	unsigned int i;

	memset(mods_r, 0, sizeof(*mods_r));
	if (list->type != IMAP_ARG_LIST || list->list_count == 0) {
		*error_r = "Invalid FETCH modifiers";
		return -1;
	}
	for (i = 0; i < list->list_count; i++) {
		a = &list->list[i];
		if (imap_arg_atom_equals(a, "CHANGEDSINCE") &&
		    !mods_r->changedsince_set && i + 1 < list->list_count) {
			if (arg_modseq(&list->list[++i], false,
			    &mods_r->changedsince, error_r) < 0)
				return -1;
			mods_r->changedsince_set = true;
		} else if (imap_arg_atom_equals(a, "VANISHED") &&
		    !mods_r->vanished) {
			mods_r->vanished = true;
		} else {
			*error_r = "Unknown or repeated FETCH modifier";
			return -1;
		}
	}
	if (mods_r->vanished && !mods_r->changedsince_set) {
		*error_r = "VANISHED needs CHANGEDSINCE";
		return -1;
	}
	return 0;
}

int
imap_store_modifiers_parse(const struct imap_arg *list,
    uint64_t *unchangedsince_r, const char **error_r)
{
	if (list->type != IMAP_ARG_LIST || list->list_count != 2 ||
	    !imap_arg_atom_equals(&list->list[0], "UNCHANGEDSINCE")) {
		*error_r = "Invalid STORE modifiers";
		return -1;
	}
	return arg_modseq(&list->list[1], true, unchangedsince_r, error_r);
}

/* A sequence set atom (known-uids, seq-match-data): checked, kept. */
static int
arg_set(const struct imap_arg *arg, bool star_ok, const char **set_r,
    const char **error_r)
{
	struct imap_seqset *set;
	const char *s;
	bool star;

	if (arg->type != IMAP_ARG_ATOM || !imap_arg_get_atom(arg, &s) ||
	    imap_seqset_parse(s, &set, error_r) < 0) {
		*error_r = "Invalid QRESYNC sequence set";
		return -1;
	}
	star = imap_seqset_has_star(set);
	imap_seqset_free(&set);
	if (star && !star_ok) {
		*error_r = "QRESYNC sets must not use *";
		return -1;
	}
	*set_r = s;
	return 0;
}

/* QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]) */
static int
qresync_parse(const struct imap_arg *list, struct imap_select_params *p,
    const char **error_r)
{
	const struct imap_arg *m;
	uint64_t uidvalidity;

	if (list->type != IMAP_ARG_LIST || list->list_count < 2 ||
	    list->list_count > 4 || arg_modseq(&list->list[0], false,
	    &uidvalidity, error_r) < 0 || uidvalidity > UINT32_MAX ||
	    arg_modseq(&list->list[1], true, &p->modseq, error_r) < 0) {
		*error_r = "QRESYNC needs (uidvalidity modseq [known-uids "
		    "[(seqs uids)]])";
		return -1;
	}
	p->uidvalidity = (uint32_t)uidvalidity;
	if (list->list_count >= 3 &&
	    arg_set(&list->list[2], false, &p->known_uids, error_r) < 0)
		return -1;
	if (list->list_count == 4) {
		m = &list->list[3];
		if (m->type != IMAP_ARG_LIST || m->list_count != 2) {
			*error_r = "QRESYNC match data needs (seqs uids)";
			return -1;
		}
		if (arg_set(&m->list[0], false, &p->seq_match, error_r) < 0 ||
		    arg_set(&m->list[1], false, &p->uid_match, error_r) < 0)
			return -1;
	}
	p->qresync = true;
	return 0;
}

int
imap_select_params_parse(const struct imap_arg *list,
    struct imap_select_params *params_r, const char **error_r)
{
	const struct imap_arg *a;
	unsigned int i;

	memset(params_r, 0, sizeof(*params_r));
	if (list->type != IMAP_ARG_LIST || list->list_count == 0) {
		*error_r = "Invalid SELECT parameters";
		return -1;
	}
	for (i = 0; i < list->list_count; i++) {
		a = &list->list[i];
		if (imap_arg_atom_equals(a, "CONDSTORE") &&
		    !params_r->condstore) {
			params_r->condstore = true;
		} else if (imap_arg_atom_equals(a, "QRESYNC") &&
		    !params_r->qresync && i + 1 < list->list_count) {
			if (qresync_parse(&list->list[++i], params_r,
			    error_r) < 0)
				return -1;
		} else {
			*error_r = "Unknown or repeated SELECT parameter";
			return -1;
		}
	}
	return 0;
}
