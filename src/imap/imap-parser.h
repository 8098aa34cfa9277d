/*
 * An incremental IMAP4rev1 command parser (RFC 3501 section 9, RFC 7888
 * LITERAL+) with no I/O: the caller pushes bytes as they arrive and gets
 * back whole commands as a tag, a command name and a tree of arguments.
 *
 * Representation of the arguments:
 *   atom          IMAP_ARG_ATOM     "FLAGS", "1:*,3", "\Seen", "*", "%"
 *   NIL           IMAP_ARG_NIL      str is "NIL" as sent (any case)
 *   "quoted"      IMAP_ARG_STRING   escapes \" and \\ removed
 *   {n} / {n+}    IMAP_ARG_LITERAL  the n bytes; may hold NULs
 *   ~{n} / ~{n+}  IMAP_ARG_LITERAL  the same, literal8 set (RFC 3516)
 *   ( ... )       IMAP_ARG_LIST     children in list[0 .. list_count)
 *   NAME[...]<..> IMAP_ARG_SECTION  a FETCH attribute with a section
 *
 * A section token is one of the FETCH attributes BODY, BODY.PEEK,
 * BINARY, BINARY.PEEK or BINARY.SIZE (any case) followed directly by
 * "[", in FETCH or UID FETCH: for BODY.PEEK[HEADER.FIELDS (From
 * To)]<0.100> str is "BODY.PEEK", section is "HEADER.FIELDS", the header
 * list is parsed into list (has_list), and partial_offset 0,
 * partial_size 100 (has_partial). Anywhere else "[" and "]" are atom
 * characters (RFC 3501 9: "[" is an ATOM-CHAR, "]" an ASTRING-CHAR),
 * so a mailbox named [Gmail]/Sent or a[b, or a password pa[ss], may be
 * sent unquoted. Tokens are not interpreted otherwise: "UID" is the
 * command name of UID FETCH and "FETCH" its first argument.
 */
#ifndef MB_IMAP_IMAP_PARSER_H
#define MB_IMAP_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What imap_parser_feed() returns besides 1, 0 and -1. */
enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,		/* bad input; reply BAD */
	IMAP_PARSE_MORE = 0,		/* all input consumed, need more */
	IMAP_PARSE_DONE = 1,		/* one command is complete */
	IMAP_PARSE_NEED_CONTINUATION = 2, /* send "+ " before the literal */
};

enum imap_parse_error {
	IMAP_PARSE_ERROR_NONE = 0,
	IMAP_PARSE_ERROR_SYNTAX,		/* not RFC 3501 grammar */
	IMAP_PARSE_ERROR_LINE_TOO_LONG,		/* over limits.line_max */
	IMAP_PARSE_ERROR_LITERAL_TOO_LARGE,	/* over limits.literal_max */
	IMAP_PARSE_ERROR_TOO_DEEP,		/* over limits.depth_max */
	IMAP_PARSE_ERROR_TOO_MANY_ARGS,		/* over limits.args_max */
};

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* atom, also sequence sets, flags, "*" */
	IMAP_ARG_NIL,		/* the atom NIL, in any case */
	IMAP_ARG_STRING,	/* quoted string, unescaped */
	IMAP_ARG_LITERAL,	/* literal, synchronising or not */
	IMAP_ARG_LIST,		/* parenthesised list */
	IMAP_ARG_SECTION,	/* NAME[section (list)]<offset.size> */
};

struct imap_arg {
	enum imap_arg_type type;

	/* ATOM, NIL, STRING, LITERAL: the value, NUL-terminated; len
	 * counts bytes without the NUL (a literal may contain NULs).
	 * SECTION: the name before "[". LIST: NULL. */
	char *str;
	size_t len;
	/* LITERAL: the data holds a NUL byte, so str is not the whole value
	 * as a C string; the imap_arg_get_*string() helpers refuse it. */
	bool has_nul;
	/* LITERAL: sent as literal8, ~{n} (RFC 3516): binary data the
	 * client did not encode. Only APPEND takes it; the
	 * imap_arg_get_*string() helpers refuse it. */
	bool literal8;
	/* LITERAL over the sink's inline_max: the sink's handle, which got
	 * the len bytes of data; str is then "". NULL otherwise. */
	void *spool;

	/* LIST: the elements. SECTION: the header list, if has_list. */
	struct imap_arg *list;
	unsigned int list_count;
	unsigned int list_cap;		/* allocated elements (internal) */

	/* SECTION only. */
	char *section;		/* text inside the brackets before any list:
				 * "HEADER.FIELDS.NOT", "1.2.MIME", "" */
	bool has_list;		/* a "(...)" header list followed section */
	bool has_partial;	/* "<offset.size>" followed "]" */
	uint32_t partial_offset;
	uint32_t partial_size;	/* never 0 when has_partial */
};

struct imap_command {
	const char *tag;	/* never empty */
	const char *name;	/* command name as sent (any case) */
	const struct imap_arg *args;	/* top-level arguments */
	unsigned int args_count;
};

/* Every size the parser holds is bounded by these. */
struct imap_parser_limits {
	size_t line_max;	/* bytes of a command outside literal data,
				 * its line ends included */
	uint64_t literal_max;	/* literal bytes of one command, summed */
	unsigned int depth_max;	/* nested "(" levels (a header list too) */
	unsigned int args_max;	/* arguments of one command, nested ones
				 * included */
	/* An ID command (RFC 2971) may be larger than line_max and
	 * literal_max allow: its own limits, used once the command name
	 * is read (0, or less than the limit above: that one). */
	size_t id_line_max;
	uint64_t id_literal_max;
};

/*
 * Where literals larger than inline_max go instead of memory (an APPEND
 * message: the parser would otherwise hold up to literal_max bytes).
 * The parser does no I/O itself; it calls these as the literal arrives.
 */
struct imap_literal_sink {
	size_t inline_max;	/* larger literals go to the sink */
	/* Literal bytes of one command kept in memory, summed: a literal
	 * that would pass it goes to the sink whatever its size, so many
	 * small literals (MULTIAPPEND) cost no more memory than one large
	 * one. 0: no such bound. */
	uint64_t inline_total_max;
	/* A literal of size bytes begins: a handle for it, never NULL (a
	 * sink that cannot store it returns one that remembers why, for
	 * the command to report). */
	void *(*open)(void *ctx, uint64_t size);
	/* The next bytes of the literal (failures stay with the handle). */
	void (*write)(void *handle, const void *data, size_t len);
	/* The literal's last byte was written (NULL: not told). */
	void (*done)(void *handle);
	/* The command that held the literal is done or dropped. */
	void (*free)(void *handle);
	void *ctx;
};

/* The limits from lib/limits.h (IMAP_*, or IMAP_*_PRELOGIN with
 * IMAP_ID_*_MAX_PRELOGIN for ID). */
void imap_parser_limits_default(struct imap_parser_limits *limits_r,
    bool prelogin);

/* A parser with the given limits (copied). The parser holds at most
 * line_max + literal_max bytes (the ID limits, if larger) plus args_max
 * argument nodes. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
/* Free the parser and every command it returned; sets *parserp to NULL. */
void imap_parser_free(struct imap_parser **parserp);

/*
 * Parse up to size bytes of data and report in *consumed_r how many were
 * used; the caller drains exactly that many from its input. The result
 * is the same whether bytes arrive all at once or one at a time.
 *
 * Returns:
 *   1 (IMAP_PARSE_DONE)  a command is complete (its line end consumed);
 *       *cmd_r points to it until the next imap_parser_feed(),
 *       imap_parser_reset() or imap_parser_free(). Bytes after it are
 *       left unconsumed: feed them again for the next command.
 *   0 (IMAP_PARSE_MORE)  every byte was consumed; feed more.
 *   2 (IMAP_PARSE_NEED_CONTINUATION)  a synchronising literal {n} was
 *       announced and accepted; the caller sends "+ Ready for literal
 *       data" and feeds again. Returned exactly once per such literal,
 *       never for {n+}.
 *  -1 (IMAP_PARSE_ERROR)  the command is bad; *error_r is a printable
 *       message (no CR, LF or quotes from the client), an error text of
 *       lib/error.h, imap_parser_error_code() tells why and
 *       imap_parser_tag() gives the tag if it was read. The caller
 *       replies "<tag> BAD <message>" (or "* BAD") and simply feeds
 *       again: the parser then skips the rest of the bad command,
 *       including a {n+} literal announced in it, and parses the next
 *       one. The skipped bytes are never stored.
 */
int imap_parser_feed(struct imap_parser *parser, const void *data,
    size_t size, size_t *consumed_r, const struct imap_command **cmd_r,
    const char **error_r);

/* The tag of the command being parsed, or NULL if it was not read yet.
 * Valid until the next feed, reset or free. */
const char *imap_parser_tag(const struct imap_parser *parser);
/* The command name once read, or NULL; lifetime as imap_parser_tag(). */
const char *imap_parser_name(const struct imap_parser *parser);

/* Instead of sending "+ " after a result of 2, the caller may answer
 * the command at once (APPEND to a missing mailbox: NO [TRYCREATE]);
 * the client then sends no literal and the next bytes are a new
 * command. This drops the command in progress; call it right after
 * the result 2, before feeding again. */
void imap_parser_reject_literal(struct imap_parser *parser);
/* Right after a result of 2: the command's top-level arguments that
 * were complete before the literal was announced (not the literal's
 * own, nor an open list holding it), *count_r of them, so the caller
 * can decide whether to reject it. Lifetime as imap_parser_tag(). */
const struct imap_arg *imap_parser_args_before_literal(
    const struct imap_parser *parser, unsigned int *count_r);

/* Why the last imap_parser_feed() returned -1. */
enum imap_parse_error imap_parser_error_code(const struct imap_parser *parser);

/* True when the parser holds nothing a fresh one would not: no command
 * begun (not even a byte of its tag) and no bad command being skipped.
 * The last command returned with 1 may still be in use by the caller;
 * freeing the parser then is the caller's decision. A session frees an
 * idle parser and makes a new one when input arrives. */
bool imap_parser_at_rest(const struct imap_parser *parser);

/* Forget the command in progress and any pending skip, as at a fresh
 * connection (after STARTTLS, for instance). */
void imap_parser_reset(struct imap_parser *parser);
/* Send large literals to sink (copied; NULL: keep them in memory).
 * Call it between commands. */
void imap_parser_set_literal_sink(struct imap_parser *parser,
    const struct imap_literal_sink *sink);
/* New limits for the next command (after login). Call it between
 * commands, after a result of 1. */
void imap_parser_set_limits(struct imap_parser *parser,
    const struct imap_parser_limits *limits);

/* Helpers for command handlers: true and *str_r set if arg has the
 * named form. An astring is an atom (NIL included), a quoted string or
 * a literal; a string is quoted or literal; an nstring is a string, or
 * NIL which gives NULL. A literal holding a NUL byte has none of these
 * forms (false): a C string would silently end at the NUL, so a
 * mailbox, user name or password "alice\0evil" would be taken as
 * "alice". Neither has a literal that went to the sink (spool), nor a
 * literal8, which RFC 3516 allows in APPEND's message only. Handlers
 * answer BAD, as for any argument of the wrong form. Bytes such as an
 * APPEND message are read from str and len (or spool) directly. */
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r);
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r);
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r);
/* True if arg is an atom equal to name, ignoring ASCII case. */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *name);

#endif
