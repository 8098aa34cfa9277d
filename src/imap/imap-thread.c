/*
 * The two threading algorithms of RFC 5256: ORDEREDSUBJECT (section 3)
 * groups by base subject; REFERENCES (section 3, after Jamie Zawinski's)
 * links messages by Message-ID, References and In-Reply-To, prunes the
 * placeholders of messages not present, merges threads of the same
 * subject and orders every set of siblings by sent date.
 */
#include "imap/imap-thread.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap-subject.h"
#include "lib/hash.h"
#include "lib/xmalloc.h"

/* One container of the tree: a message, or a placeholder ("dummy") for
 * a Message-ID that only references name. */
struct node {
	struct imap_sort_msg *msg;	/* NULL: dummy */
	struct node *parent;
	struct node *child;		/* first child */
	struct node *next;		/* next sibling */
	const char *id;			/* Message-ID, while in the table */
	struct hash_node hnode;		/* in the ID table */
	bool removed;			/* merged away (step 6) */
};

/* All the nodes of one THREAD, allocated at once. */
struct forest {
	struct node *nodes;
	size_t used, cap;
	struct node root;		/* its children are the threads */
	struct hash_table ids;
};

static struct node *
node_new(struct forest *f)
{
	if (f->used == f->cap)
		abort();	/* sized for every message and reference */
	return &f->nodes[f->used++];
}

static uint64_t
id_hash_cb(const struct hash_node *n)
{
	return hash_str(HASH_ENTRY(n, struct node, hnode)->id);
}

static struct node *
id_find(struct forest *f, const char *id)
{
	for (struct hash_node *n = hash_bucket(&f->ids, hash_str(id));
	    n != NULL; n = n->next) {
		struct node *c = HASH_ENTRY(n, struct node, hnode);

		if (strcmp(c->id, id) == 0)
			return c;
	}
	return NULL;
}

static struct node *
id_get(struct forest *f, const char *id)
{
	struct node *c = id_find(f, id);

	if (c == NULL) {
		c = node_new(f);
		c->id = id;
		hash_insert(&f->ids, &c->hnode, hash_str(id));
	}
	return c;
}

/* Is a one of b, b's parent, b's grandparent...? */
static bool
is_ancestor(const struct node *a, const struct node *b)
{
	for (; b != NULL; b = b->parent)
		if (a == b)
			return true;
	return false;
}

static void
unlink_node(struct node *c)
{
	struct node **pp;

	if (c->parent == NULL)
		return;
	for (pp = &c->parent->child; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	c->next = NULL;
	c->parent = NULL;
}

/* Make c the last child of p. */
static void
link_node(struct node *p, struct node *c)
{
	struct node **pp;

	for (pp = &p->child; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = c;
	c->parent = p;
	c->next = NULL;
}

/* Step 1: the message's container, its references linked in order and
 * the message put under the last one. */
static void
add_message(struct forest *f, struct imap_sort_msg *m)
{
	struct node *c = NULL, *prev = NULL;

	if (m->message_id[0] != '\0') {
		c = id_get(f, m->message_id);
		if (c->msg != NULL)	/* a duplicate ID: a thread alone */
			c = NULL;
	}
	if (c == NULL)
		c = node_new(f);
	c->msg = m;
	for (size_t i = 0; i < m->ref_count; i++) {
		struct node *r = id_get(f, m->refs[i]);

		/* 1A: link each reference to the one before it, unless it
		 * has a parent already or the link would make a loop. */
		if (prev != NULL && r->parent == NULL && r != prev &&
		    (r->child == NULL || !is_ancestor(r, prev)))
			link_node(prev, r);
		prev = r;
	}
	/* 1B: the last reference is the parent, replacing any parent a
	 * truncated References of another message gave. */
	unlink_node(c);
	/* a node without children is nobody's ancestor but its own */
	if (prev != NULL && prev != c &&
	    (c->child == NULL || !is_ancestor(c, prev)))
		link_node(prev, c);
}

/* Every node under (and with) root, each before its descendants
 * (malloc'd, *n_r of them). Iterative: a thread may be as deep as the
 * folder is large, deeper than the stack. */
static struct node **
preorder(struct forest *f, struct node *root, size_t *n_r)
{
	struct node **order = xreallocarray(NULL, f->used + 1,
	    sizeof(*order));
	struct node **stack = xreallocarray(NULL, f->used + 1,
	    sizeof(*stack));
	size_t n = 0, top = 0;

	stack[top++] = root;
	while (top > 0) {
		struct node *x = stack[--top];

		order[n++] = x;
		for (struct node *c = x->child; c != NULL; c = c->next)
			stack[top++] = c;
	}
	free(stack);
	*n_r = n;
	return order;
}

/*
 * Step 4 at one node whose descendants are done: drop dummies without
 * children, and put the children of the others in their place, except
 * that a dummy at the top keeps its children unless it has only one.
 */
static void
prune_children(struct node *p, bool top)
{
	struct node **pp = &p->child;

	while (*pp != NULL) {
		struct node *c = *pp;

		if (c->msg != NULL || (top && c->child != NULL &&
		    c->child->next != NULL)) {
			pp = &c->next;
			continue;
		}
		/* splice c's children in place of c */
		struct node *first = c->child, *last = NULL;

		for (struct node *k = first; k != NULL; k = k->next) {
			k->parent = p;
			last = k;
		}
		if (first == NULL)
			*pp = c->next;
		else {
			last->next = c->next;
			*pp = first;
		}
		c->child = c->next = NULL;
		c->parent = NULL;
	}
}

/* The message that stands for c when sorting and merging: c's own, or
 * for a dummy its first child's (children sorted first). */
static const struct imap_sort_msg *
node_msg(const struct node *c)
{
	while (c->msg == NULL && c->child != NULL)
		c = c->child;
	return c->msg;
}

/* Sent date, then sequence number. */
static int
date_cmp(const struct node *a, const struct node *b)
{
	const struct imap_sort_msg *x = node_msg(a), *y = node_msg(b);

	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
qsort_date_cb(const void *a, const void *b)
{
	return date_cmp(*(struct node *const *)a, *(struct node *const *)b);
}

/* The children of p as an array (malloc'd; *n_r of them). */
static struct node **
children(struct node *p, size_t *n_r)
{
	struct node **v = NULL;
	size_t n = 0, cap = 0;

	for (struct node *c = p->child; c != NULL; c = c->next) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = c;
	}
	*n_r = n;
	return v;
}

/* Make v[0 .. n) the children of p, in that order. */
static void
set_children(struct node *p, struct node **v, size_t n)
{
	struct node **pp = &p->child;

	for (size_t i = 0; i < n; i++) {
		v[i]->parent = p;
		*pp = v[i];
		pp = &v[i]->next;
	}
	*pp = NULL;
}

/* Order the children of p by date. */
static void
sort_children(struct node *p)
{
	struct node **v;
	size_t n;

	v = children(p, &n);
	if (n > 1) {
		qsort(v, n, sizeof(*v), qsort_date_cb);
		set_children(p, v, n);
	}
	free(v);
}

/* A subject table entry (step 6). */
struct subject_entry {
	struct hash_node hnode;
	const char *subject;
	struct node **slot;		/* where the thread sits in roots */
};

static uint64_t
casemap_hash(const char *s)
{
	uint64_t h = HASH_FNV1A_INIT;

	for (; *s != '\0'; s++) {
		char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;

		h = hash_fnv1a(&c, 1, h);
	}
	return h;
}

static uint64_t
subject_hash_cb(const struct hash_node *n)
{
	return casemap_hash(HASH_ENTRY(n, struct subject_entry,
	    hnode)->subject);
}

static struct subject_entry *
subject_find(struct hash_table *t, const char *subject)
{
	for (struct hash_node *n = hash_bucket(t, casemap_hash(subject));
	    n != NULL; n = n->next) {
		struct subject_entry *e = HASH_ENTRY(n, struct subject_entry,
		    hnode);

		if (imap_casemap_cmp(e->subject, subject) == 0)
			return e;
	}
	return NULL;
}

/* Step 6C: merge the thread in *slot into the one in e->slot. */
static void
merge(struct forest *f, struct subject_entry *e, struct node **slot)
{
	struct node *old = *e->slot, *cur = *slot, *d;

	if (old->msg == NULL && cur->msg == NULL) {
		while (cur->child != NULL) {
			struct node *k = cur->child;

			unlink_node(k);
			link_node(old, k);
		}
		cur->removed = true;
	} else if (old->msg == NULL) {
		link_node(old, cur);
		cur->removed = true;
	} else if (cur->msg == NULL) {
		link_node(cur, old);
		old->removed = true;
		e->slot = slot;
	} else if (!old->msg->reply && cur->msg->reply) {
		link_node(old, cur);
		cur->removed = true;
	} else {
		d = node_new(f);
		link_node(d, old);
		link_node(d, cur);
		cur->removed = true;
		*e->slot = d;
	}
}

/* Step 6: threads whose top messages have the same base subject are
 * merged. */
static void
merge_subjects(struct forest *f)
{
	struct subject_entry *entries;
	struct hash_table t;
	struct node **v;
	size_t n, kept = 0;

	v = children(&f->root, &n);
	entries = xcalloc(n + 1, sizeof(*entries));
	hash_init(&t, n, subject_hash_cb);
	/* 6A, 6B: the table holds a dummy before a message, and a
	 * message that is not a reply before one that is. */
	for (size_t i = 0; i < n; i++) {
		const struct imap_sort_msg *m = node_msg(v[i]);
		struct subject_entry *e;

		if (m == NULL || m->subject[0] == '\0')
			continue;
		if ((e = subject_find(&t, m->subject)) == NULL) {
			e = &entries[i];
			e->subject = m->subject;
			e->slot = &v[i];
			hash_insert(&t, &e->hnode, casemap_hash(m->subject));
		} else if (((*e->slot)->msg != NULL && v[i]->msg == NULL) ||
		    ((*e->slot)->msg != NULL && v[i]->msg != NULL &&
		    (*e->slot)->msg->reply && !v[i]->msg->reply))
			e->slot = &v[i];
	}
	/* 6C */
	for (size_t i = 0; i < n; i++) {
		const struct imap_sort_msg *m = node_msg(v[i]);
		struct subject_entry *e;

		if (v[i]->removed || m == NULL || m->subject[0] == '\0')
			continue;
		e = subject_find(&t, m->subject);
		if (e->slot != &v[i])
			merge(f, e, &v[i]);
	}
	/* the threads not merged into others stay at the top */
	for (size_t i = 0; i < n; i++)
		if (!v[i]->removed)
			v[kept++] = v[i];
	f->root.child = NULL;
	set_children(&f->root, v, kept);
	hash_free(&t);
	free(entries);
	free(v);
}

static void
thread_references(struct forest *f, struct imap_sort_msg **msgs,
    size_t count)
{
	struct node **tail, **order;
	size_t n;

	hash_init(&f->ids, count, id_hash_cb);
	for (size_t i = 0; i < count; i++)
		add_message(f, msgs[i]);
	/* 2: every container without a parent is a thread */
	tail = &f->root.child;
	for (size_t i = 0; i < f->used; i++)
		if (f->nodes[i].parent == NULL) {
			f->nodes[i].parent = &f->root;
			*tail = &f->nodes[i];
			tail = &f->nodes[i].next;
		}
	hash_free(&f->ids);		/* 3 */
	/* 4: each node after its descendants */
	order = preorder(f, &f->root, &n);
	for (size_t i = n; i-- > 0;)
		prune_children(order[i], order[i] == &f->root);
	free(order);
	/* 5: the threads by date, a dummy's children first so its date is
	 * its earliest child's (only the top has dummies now) */
	for (struct node *c = f->root.child; c != NULL; c = c->next)
		if (c->msg == NULL)
			sort_children(c);
	sort_children(&f->root);
	merge_subjects(f);		/* 6 */
	/* 7: every set of siblings, the deepest first */
	order = preorder(f, &f->root, &n);
	for (size_t i = n; i-- > 0;)
		sort_children(order[i]);
	free(order);
}

static int
qsort_subject_cb(const void *a, const void *b)
{
	const struct imap_sort_msg *x = *(struct imap_sort_msg *const *)a;
	const struct imap_sort_msg *y = *(struct imap_sort_msg *const *)b;
	int r = imap_casemap_cmp(x->subject, y->subject);

	if (r != 0)
		return r;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ORDEREDSUBJECT: by base subject, then date; the first message of
 * each subject is the parent of the others; threads by the date of
 * their first message. */
static void
thread_ordered_subject(struct forest *f, struct imap_sort_msg **msgs,
    size_t count)
{
	struct node *top = NULL, **tail = &f->root.child, **ktail = NULL;

	qsort(msgs, count, sizeof(*msgs), qsort_subject_cb);
	for (size_t i = 0; i < count; i++) {
		struct node *c = node_new(f);

		c->msg = msgs[i];
		if (top != NULL && imap_casemap_cmp(top->msg->subject,
		    msgs[i]->subject) == 0) {
			c->parent = top;
			*ktail = c;
			ktail = &c->next;
		} else {
			c->parent = &f->root;
			*tail = c;
			tail = &c->next;
			top = c;
			ktail = &c->child;
		}
	}
	sort_children(&f->root);
}

/* thread-members / thread-nested (RFC 5256 4) of c. */
static void
write_members(const struct node *c, bool uid, struct buf *out)
{
	bool first = true;

	for (;;) {
		if (c->msg != NULL) {
			(void)buf_printf(out, first ? "%u" : " %u",
			    uid ? c->msg->uid : c->msg->seq);
			first = false;
		}
		if (c->child == NULL)
			return;
		if (c->child->next == NULL) {
			c = c->child;
			continue;
		}
		if (!first)
			(void)buf_append_str(out, " ");
		for (const struct node *k = c->child; k != NULL; k = k->next) {
			(void)buf_append_str(out, "(");
			write_members(k, uid, out);
			(void)buf_append_str(out, ")");
		}
		return;
	}
}

void
imap_thread_build(enum imap_thread_algorithm algorithm,
    struct imap_sort_msg **msgs, size_t count, bool uid, struct buf *out)
{
	struct forest f = { 0 };

	f.cap = 2 * count + 1;
	for (size_t i = 0; i < count; i++)
		f.cap += msgs[i]->ref_count;
	f.nodes = xcalloc(f.cap, sizeof(*f.nodes));
	if (algorithm == IMAP_THREAD_REFERENCES)
		thread_references(&f, msgs, count);
	else
		thread_ordered_subject(&f, msgs, count);
	for (const struct node *c = f.root.child; c != NULL; c = c->next) {
		(void)buf_append_str(out, "(");
		write_members(c, uid, out);
		(void)buf_append_str(out, ")");
	}
	free(f.nodes);
}

int
imap_thread_parse(const struct imap_arg *args, unsigned int count,
    enum imap_thread_algorithm *algorithm_r, struct imap_search **search_r,
    enum imap_search_error *code_r, const char **error_r)
{
	*code_r = IMAP_SEARCH_ERROR_SYNTAX;
	if (count < 3) {
		*error_r = "THREAD needs an algorithm, a charset and "
		    "search criteria";
		return -1;
	}
	if (imap_arg_atom_equals(&args[0], "ORDEREDSUBJECT"))
		*algorithm_r = IMAP_THREAD_ORDEREDSUBJECT;
	else if (imap_arg_atom_equals(&args[0], "REFERENCES"))
		*algorithm_r = IMAP_THREAD_REFERENCES;
	else {
		*error_r = "Unknown thread algorithm";
		return -1;
	}
	if (!imap_sort_charset_ok(&args[1])) {
		const char *s;

		if (imap_arg_get_astring(&args[1], &s))
			*code_r = IMAP_SEARCH_ERROR_BADCHARSET;
		*error_r = "Unsupported charset";
		return -1;
	}
	return imap_search_parse(args + 2, count - 2, search_r, code_r,
	    error_r);
}
