/*
 * Inside the IMAP command parser: the state machine's states and the
 * parser structure shared by imap-parser.c (lifetime, feeding, skipping
 * a bad command, argument access) and imap-parser-grammar.c (what each
 * byte means in each state). Nothing else includes this.
 */
#ifndef MB_IMAP_IMAP_PARSER_PRIVATE_H
#define MB_IMAP_IMAP_PARSER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-parser.h"
#include "lib/buf.h"

enum imap_parser_state {
	STATE_TAG,		/* reading the tag (or an empty line) */
	STATE_NAME,		/* reading the command name */
	STATE_ARGS,		/* between arguments */
	STATE_ATOM,		/* inside an atom */
	STATE_QUOTED,		/* inside a quoted string */
	STATE_QUOTED_ESCAPE,	/* after a backslash in a quoted string */
	STATE_LITERAL_OPEN,	/* after "{", expecting a digit */
	STATE_LITERAL_SIZE,	/* reading the literal size */
	STATE_LITERAL_PLUS,	/* after "{n+", expecting "}" */
	STATE_LITERAL_CLOSE,	/* after "}", expecting CRLF */
	STATE_LITERAL_CR,	/* after "}" CR, expecting LF */
	STATE_LITERAL_DATA,	/* copying literal bytes */
	STATE_SECTION_TEXT,	/* after "NAME[", reading the section text */
	STATE_SECTION_SP,	/* after "NAME[text ", expecting "(" */
	STATE_SECTION_CLOSE,	/* after the header list, expecting "]" */
	STATE_SECTION_END,	/* after "]", "<" may follow */
	STATE_PARTIAL_OFFSET,	/* after "<", reading the offset */
	STATE_PARTIAL_SIZE,	/* after "<n.", reading the size */
	STATE_CR,		/* after the CR that ends a line */
	STATE_SKIP_LINE,	/* skipping the rest of a bad command */
	STATE_SKIP_LITERAL,	/* skipping a {n+} literal of a bad command */
	STATE_DONE,		/* a command was returned; cleared on next feed */
};

/* While skipping a bad command: how far a literal announcement at the
 * end of the current line has got. */
enum skip_literal_state {
	SKIP_LIT_NONE,		/* no literal announcement in progress */
	SKIP_LIT_OPEN,		/* "{" */
	SKIP_LIT_SIZE,		/* "{1234" */
	SKIP_LIT_PLUS,		/* "{1234+" */
	SKIP_LIT_CLOSE,		/* "{1234}" or "{1234+}" */
	SKIP_LIT_CR,		/* the same followed by CR */
};

/* What one byte did to the state machine. */
enum step {
	STEP_NEXT,		/* byte consumed */
	STEP_AGAIN,		/* state changed; look at the byte again */
	STEP_ERROR,		/* byte not consumed; the error is set */
	STEP_DONE,		/* byte consumed; the command is complete */
	STEP_CONTINUE,		/* byte consumed; a {n} needs "+ " */
	STEP_RESTART,		/* byte consumed; an empty line ended */
};

struct imap_parser {
	/* Set at creation or by imap_parser_set_limits(). */
	struct imap_parser_limits limits;
	struct imap_arg **stack;	/* open lists; depth_max + 1 slots */
	struct imap_literal_sink sink;	/* large literals; open NULL: none */

	/* Per command, cleared by command_clear(). */
	enum imap_parser_state state;
	char *tag;			/* once read */
	char *name;			/* once read */
	size_t line_max;		/* limits of this command: those */
	uint64_t literal_max;		/* of limits, or ID's once read */
	struct imap_arg root;		/* LIST of the top-level arguments */
	unsigned int depth;		/* stack[depth] receives new arguments */
	unsigned int args_count;	/* arguments started so far */
	size_t line_len;		/* bytes outside literal data */
	uint64_t literal_total;		/* literal bytes announced so far */
	uint64_t literal_inline;	/* of those, held in memory */
	struct buf tok;			/* text of the token being read */
	bool need_sep;			/* a token just ended: SP, ")" or
					 * the line end must follow */
	bool cr_empty;			/* STATE_CR: the line was empty */

	/* The literal being announced or read. */
	uint64_t literal_size;		/* announced size, or bytes left */
	bool literal_nonsync;		/* {n+} */
	bool literal8;			/* ~{n}: the literal is literal8 */
	struct imap_arg *literal_arg;	/* receiving the data */

	/* The section token being read. */
	struct imap_arg *section_arg;
	uint64_t partial_num;		/* the number being read in <...> */
	unsigned int partial_digits;

	/* Skipping a bad command. */
	enum skip_literal_state skip_lit;

	/* The last feed returned IMAP_PARSE_NEED_CONTINUATION. */
	bool continuation;

	/* The last error: its kind, and its text (lib/error.h). */
	enum imap_parse_error error_code;
	const char *error;

	/* The command returned with 1. */
	struct imap_command cmd;
};

/*
 * One byte c of a command outside literal data and skipping: checks
 * the line limit, then moves the state machine (imap-parser-grammar.c).
 * STEP_ERROR leaves the byte unconsumed with the error set and the
 * parser skipping the rest of the command.
 */
enum step imap_parser_step(struct imap_parser *p, unsigned char c);

#endif
