/*
 * The IMAP4rev1 command parser: a byte-at-a-time state machine that turns
 * client input into tagged commands with argument trees, bounded by the
 * limits it was built with, and that skips a bad command to its end so
 * the session can answer BAD and go on. This file holds the parser's
 * lifetime, the feeding loop, the skipping of a bad command and argument
 * access; the grammar of each byte is in imap-parser-grammar.c.
 */
#include "imap/imap-parser.h"
#include "imap/imap-parser-private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/limits.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

void
imap_parser_limits_default(struct imap_parser_limits *limits_r, bool prelogin)
{
	if (prelogin) {
		limits_r->line_max = IMAP_LINE_MAX_PRELOGIN;
		limits_r->literal_max = IMAP_LITERAL_MAX_PRELOGIN;
		limits_r->depth_max = IMAP_LIST_DEPTH_MAX_PRELOGIN;
		limits_r->args_max = IMAP_ARGS_MAX_PRELOGIN;
		limits_r->id_line_max = IMAP_ID_LINE_MAX_PRELOGIN;
		limits_r->id_literal_max = IMAP_ID_LITERAL_MAX_PRELOGIN;
	} else {
		limits_r->line_max = IMAP_LINE_MAX;
		limits_r->literal_max = IMAP_LITERAL_MAX;
		limits_r->depth_max = IMAP_LIST_DEPTH_MAX;
		limits_r->args_max = IMAP_ARGS_MAX;
		/* IMAP_LINE_MAX holds RFC 2971's largest ID. */
		limits_r->id_line_max = 0;
		limits_r->id_literal_max = 0;
	}
}

static void
arg_free_contents(struct imap_parser *p, struct imap_arg *arg)
{
	unsigned int i;

	for (i = 0; i < arg->list_count; i++)
		arg_free_contents(p, &arg->list[i]);
	if (arg->spool != NULL)
		p->sink.free(arg->spool);
	free(arg->list);
	free(arg->str);
	free(arg->section);
	memset(arg, 0, sizeof(*arg));
}

static void
command_clear(struct imap_parser *p)
{
	arg_free_contents(p, &p->root);
	p->root.type = IMAP_ARG_LIST;
	p->stack[0] = &p->root;
	p->depth = 0;
	free(p->tag);
	free(p->name);
	p->tag = NULL;
	p->name = NULL;
	p->line_max = p->limits.line_max;
	p->literal_max = p->limits.literal_max;
	p->args_count = 0;
	p->line_len = 0;
	p->literal_total = 0;
	p->literal_inline = 0;
	buf_reset(&p->tok);
	p->need_sep = false;
	p->cr_empty = false;
	p->literal_size = 0;
	p->literal_nonsync = false;
	p->literal8 = false;
	p->literal_arg = NULL;
	p->section_arg = NULL;
	p->partial_num = 0;
	p->partial_digits = 0;
	p->skip_lit = SKIP_LIT_NONE;
	memset(&p->cmd, 0, sizeof(p->cmd));
}

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	buf_init(&p->tok, 0);
	imap_parser_set_limits(p, limits);
	command_clear(p);
	p->state = STATE_TAG;
	return p;
}

void
imap_parser_free(struct imap_parser **parserp)
{
	struct imap_parser *p = *parserp;

	if (p == NULL)
		return;
	*parserp = NULL;
	command_clear(p);
	buf_free(&p->tok);
	free(p->stack);
	free(p);
}

void
imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *limits)
{
	size_t tok_max = limits->line_max;

	assert(p->depth == 0);
	assert(limits->depth_max < 1024 * 1024);
	p->limits = *limits;
	p->line_max = limits->line_max;
	p->literal_max = limits->literal_max;
	p->stack = xreallocarray(p->stack, limits->depth_max + 1,
	    sizeof(*p->stack));
	memset(p->stack, 0, (limits->depth_max + 1) * sizeof(*p->stack));
	p->stack[0] = &p->root;
	/* Token text is part of the line, so it cannot exceed the larger
	 * of the line limits. */
	if (limits->id_line_max > tok_max)
		tok_max = limits->id_line_max;
	p->tok.max = tok_max == 0 ? 1 : tok_max;
}

void
imap_parser_set_literal_sink(struct imap_parser *p,
    const struct imap_literal_sink *sink)
{
	if (sink == NULL)
		memset(&p->sink, 0, sizeof(p->sink));
	else
		p->sink = *sink;
}

void
imap_parser_reset(struct imap_parser *p)
{
	command_clear(p);
	p->state = STATE_TAG;
	p->error_code = IMAP_PARSE_ERROR_NONE;
	p->error = NULL;
}

const char *
imap_parser_tag(const struct imap_parser *p)
{
	return p->tag;
}

const char *
imap_parser_name(const struct imap_parser *p)
{
	return p->name;
}

void
imap_parser_reject_literal(struct imap_parser *p)
{
	/* The client sends nothing more of this command. */
	assert(p->continuation);
	p->continuation = false;
	command_clear(p);
	p->state = STATE_TAG;
}

const struct imap_arg *
imap_parser_args_before_literal(const struct imap_parser *p,
    unsigned int *count_r)
{
	assert(p->continuation);
	/* The literal is the last top-level argument started, or inside
	 * it (an open list). */
	*count_r = p->root.list_count > 0 ? p->root.list_count - 1 : 0;
	return p->root.list;
}

bool
imap_parser_at_rest(const struct imap_parser *p)
{
	/* In STATE_TAG the tag's bytes are in tok until the space after
	 * it; an empty line leaves tok empty. */
	return p->state == STATE_DONE ||
	    (p->state == STATE_TAG && p->tok.len == 0);
}

enum imap_parse_error
imap_parser_error_code(const struct imap_parser *p)
{
	return p->error_code;
}

/* One byte of a bad command. Returns true when the command is over. */
static bool
skip_byte(struct imap_parser *p, unsigned char c)
{
	enum skip_literal_state s = p->skip_lit;

	p->skip_lit = SKIP_LIT_NONE;
	switch (c) {
	case '{':
		p->skip_lit = SKIP_LIT_OPEN;
		p->literal_size = 0;
		p->literal_nonsync = false;
		break;
	case '+':
		if (s == SKIP_LIT_SIZE) {
			p->skip_lit = SKIP_LIT_PLUS;
			p->literal_nonsync = true;
		}
		break;
	case '}':
		if (s == SKIP_LIT_SIZE || s == SKIP_LIT_PLUS)
			p->skip_lit = SKIP_LIT_CLOSE;
		break;
	case '\r':
		if (s == SKIP_LIT_CLOSE)
			p->skip_lit = SKIP_LIT_CR;
		break;
	case '\n':
		if ((s == SKIP_LIT_CLOSE || s == SKIP_LIT_CR) &&
		    p->literal_nonsync && p->literal_size > 0) {
			/* The client sends a {n+} literal regardless of
			 * our BAD, and the command goes on after it. */
			p->state = STATE_SKIP_LITERAL;
			return false;
		}
		/* A {n} is never sent without our "+ ": the command
		 * ends here as any other line does. */
		return true;
	default:
		if (c >= '0' && c <= '9' &&
		    (s == SKIP_LIT_OPEN || s == SKIP_LIT_SIZE)) {
			p->skip_lit = SKIP_LIT_SIZE;
			/* Saturate: a client announcing more than 2^64
			 * bytes will not be waited out anyway. */
			if (str_num_push_digit(&p->literal_size, (char)c,
			    UINT64_MAX) < 0)
				p->literal_size = UINT64_MAX;
		}
		break;
	}
	return false;
}

int
imap_parser_feed(struct imap_parser *p, const void *data, size_t size,
    size_t *consumed_r, const struct imap_command **cmd_r,
    const char **error_r)
{
	const unsigned char *start = data, *cur = start, *end = start + size;
	struct imap_arg *arg;
	size_t n;

	*consumed_r = 0;
	*cmd_r = NULL;
	*error_r = NULL;
	p->error_code = IMAP_PARSE_ERROR_NONE;
	p->continuation = false;
	if (p->state == STATE_DONE) {
		command_clear(p);
		p->state = STATE_TAG;
	}

	while (cur < end) {
		switch (p->state) {
		case STATE_LITERAL_DATA:
			arg = p->literal_arg;
			n = (size_t)(end - cur);
			if (n > p->literal_size)
				n = (size_t)p->literal_size;
			if (arg->spool != NULL)
				p->sink.write(arg->spool, cur, n);
			else
				memcpy(arg->str + arg->len, cur, n);
			if (!arg->has_nul && memchr(cur, '\0', n) != NULL)
				arg->has_nul = true;
			arg->len += n;
			cur += n;
			p->literal_size -= n;
			if (p->literal_size == 0) {
				if (arg->spool != NULL && p->sink.done != NULL)
					p->sink.done(arg->spool);
				p->literal_arg = NULL;
				p->need_sep = true;
				p->state = STATE_ARGS;
			}
			continue;
		case STATE_SKIP_LITERAL:
			n = (size_t)(end - cur);
			if (n > p->literal_size)
				n = (size_t)p->literal_size;
			cur += n;
			p->literal_size -= n;
			if (p->literal_size == 0) {
				p->skip_lit = SKIP_LIT_NONE;
				p->state = STATE_SKIP_LINE;
			}
			continue;
		case STATE_SKIP_LINE:
			if (skip_byte(p, *cur++)) {
				command_clear(p);
				p->state = STATE_TAG;
			}
			continue;
		default:
			break;
		}

		switch (imap_parser_step(p, *cur)) {
		case STEP_NEXT:
			cur++;
			p->line_len++;
			break;
		case STEP_RESTART:
			cur++;
			p->line_len = 0;
			break;
		case STEP_AGAIN:
			break;
		case STEP_ERROR:
			goto error;
		case STEP_DONE:
			cur++;
			*consumed_r = (size_t)(cur - start);
			*cmd_r = &p->cmd;
			return IMAP_PARSE_DONE;
		case STEP_CONTINUE:
			cur++;
			p->line_len++;
			*consumed_r = (size_t)(cur - start);
			p->continuation = true;
			return IMAP_PARSE_NEED_CONTINUATION;
		}
	}
	*consumed_r = size;
	return IMAP_PARSE_MORE;

error:
	*consumed_r = (size_t)(cur - start);
	*error_r = p->error;
	return IMAP_PARSE_ERROR;
}

bool
imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return false;
	*str_r = arg->str;
	return true;
}

bool
imap_arg_get_string(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return false;
	if (arg->has_nul || arg->spool != NULL || arg->literal8)
		return false;
	*str_r = arg->str;
	return true;
}

bool
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r)
{
	return imap_arg_get_atom(arg, str_r) ||
	    imap_arg_get_string(arg, str_r);
}

bool
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		return true;
	}
	return imap_arg_get_string(arg, str_r);
}

bool
imap_arg_atom_equals(const struct imap_arg *arg, const char *name)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, name) == 0;
}
