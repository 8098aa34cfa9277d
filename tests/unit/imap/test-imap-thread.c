/* Tests of THREAD: the arguments parsed, ORDEREDSUBJECT, and each step
 * of REFERENCES (RFC 5256 2.2, 3) on hand-made messages, with the
 * RFC's own responses "(2)(3 6 (4 23)(44 7 96))" and "((3)(5))". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap/imap-subject.h"
#include "imap/imap-thread.h"
#include "imap-test.h"
#include "lib/xmalloc.h"

/* A message: seq (also uid * 10), date, subject as written, its ID and
 * its References ("" for none). */
struct spec {
	uint32_t seq;
	int64_t date;
	const char *subject;
	const char *id;
	const char *refs;
};

static char *
thread(enum imap_thread_algorithm algorithm, const struct spec *specs,
    size_t n, bool uid)
{
	struct imap_sort_msg *m = xcalloc(n, sizeof(*m));
	struct imap_sort_msg **v = xcalloc(n + 1, sizeof(*v));
	struct buf out;
	char *s;

	for (size_t i = 0; i < n; i++) {
		m[i].seq = specs[i].seq;
		m[i].uid = specs[i].seq * 10;
		m[i].date = specs[i].date;
		m[i].subject = imap_base_subject(specs[i].subject,
		    &m[i].reply);
		m[i].message_id = xstrdup(specs[i].id);
		m[i].refs = imap_sort_msgids(specs[i].refs,
		    IMAP_THREAD_REFS_MAX, &m[i].ref_count);
		v[i] = &m[i];
	}
	buf_init(&out, 0);
	imap_thread_build(algorithm, v, n, uid, &out);
	s = xstrdup(buf_cstr(&out));
	buf_free(&out);
	for (size_t i = 0; i < n; i++) {
		free(m[i].subject);
		free(m[i].message_id);
		for (size_t j = 0; j < m[i].ref_count; j++)
			free(m[i].refs[j]);
		free(m[i].refs);
	}
	free(m);
	free(v);
	return s;
}

#define CHECK(alg, specs, want) do { \
	char *got_ = thread(alg, specs, sizeof(specs) / sizeof(specs[0]), \
	    false); \
	if (strcmp(got_, want) != 0) \
		fail_msg("got %s, expected %s", got_, want); \
	free(got_); \
} while (0)

#define REF IMAP_THREAD_REFERENCES
#define ORD IMAP_THREAD_ORDEREDSUBJECT

/* RFC 5256 4's example, built from References. */
static void
test_rfc_example(void **state)
{
	static const struct spec s[] = {
		{ 2, 100, "other", "<2>", "" },
		{ 3, 200, "topic", "<3>", "" },
		{ 4, 400, "Re: topic", "<4>", "<3> <6>" },
		{ 6, 300, "Re: topic", "<6>", "<3>" },
		{ 7, 600, "Re: topic", "<7>", "<3> <6> <44>" },
		{ 23, 410, "Re: topic", "<23>", "<3> <6> <4>" },
		{ 44, 500, "Re: topic", "<44>", "<3> <6>" },
		{ 96, 700, "Re: topic", "<96>", "<3> <6> <44> <7>" },
	};
	char *got;

	(void)state;
	CHECK(REF, s, "(2)(3 6 (4 23)(44 7 96))");
	/* UID THREAD writes UIDs. */
	got = thread(REF, s, sizeof(s) / sizeof(s[0]), true);
	assert_string_equal(got, "(20)(30 60 (40 230)(440 70 960))");
	free(got);
}

/* Step 4: a dummy at the top keeps two children: "((3)(5))". */
static void
test_dummy_root(void **state)
{
	static const struct spec s[] = {
		{ 3, 100, "one", "<3>", "<gone>" },
		{ 5, 200, "two", "<5>", "<gone>" },
	};
	static const struct spec one[] = {
		{ 3, 100, "one", "<3>", "<gone>" },
		{ 5, 200, "two", "<5>", "<other-gone>" },
	};
	/* dummies in the middle give way to their children */
	static const struct spec mid[] = {
		{ 1, 100, "x", "<1>", "" },
		{ 2, 200, "y", "<2>", "<1> <gone>" },
		{ 3, 300, "z", "<3>", "<1> <gone>" },
	};

	(void)state;
	CHECK(REF, s, "((3)(5))");
	CHECK(REF, one, "(3)(5)");
	CHECK(REF, mid, "(1 (2)(3))");
}

/* Step 1: In-Reply-To stands in for References (the collector puts it
 * in refs); a missing or repeated Message-ID is a thread of its own;
 * loops are not made. */
static void
test_links(void **state)
{
	static const struct spec dup[] = {
		{ 1, 100, "a", "<1>", "" },
		{ 2, 200, "b", "<1>", "" },
		{ 3, 300, "c", "", "<1>" },
	};
	static const struct spec loop[] = {
		{ 1, 100, "a", "<1>", "<2>" },
		{ 2, 200, "b", "<2>", "<1>" },
	};
	static const struct spec self[] = {
		{ 1, 100, "a", "<1>", "<1>" },
	};
	/* A later, longer References moves a message found under a
	 * truncated one (1B). */
	static const struct spec trunc[] = {
		{ 1, 100, "a", "<1>", "" },
		{ 2, 200, "b", "<2>", "<1>" },
		{ 3, 300, "c", "<3>", "<2>" },
		{ 4, 400, "d", "<4>", "<1> <3>" },
	};

	(void)state;
	CHECK(REF, dup, "(1 3)(2)");
	CHECK(REF, loop, "(2 1)");
	CHECK(REF, self, "(1)");
	CHECK(REF, trunc, "(1 2 3 4)");
}

/* Steps 5 to 7: threads and siblings by date (ties by sequence
 * number); threads of one base subject merged. */
static void
test_subjects(void **state)
{
	/* 1 and its reply 3 merge; 2 stays; a reply of a thread whose
	 * first message is not a reply goes under it. */
	static const struct spec s[] = {
		{ 1, 100, "Lunch", "<1>", "" },
		{ 2, 150, "Other", "<2>", "" },
		{ 3, 300, "Re: lunch", "<3>", "" },
	};
	/* Two non-replies of one subject: a new dummy holds both. */
	static const struct spec two[] = {
		{ 1, 100, "Lunch", "<1>", "" },
		{ 2, 200, "lunch", "<2>", "" },
	};
	/* Two replies too. */
	static const struct spec replies[] = {
		{ 1, 100, "Re: Lunch", "<1>", "" },
		{ 2, 200, "Fwd: lunch", "<2>", "" },
	};
	/* A dummy at the top takes a message of its subject. */
	static const struct spec dummy[] = {
		{ 1, 100, "Re: plan", "<1>", "<gone>" },
		{ 2, 200, "Re: plan", "<2>", "<gone>" },
		{ 3, 50, "plan", "<3>", "" },
	};
	/* Empty subjects never merge. */
	static const struct spec empty[] = {
		{ 1, 100, "", "<1>", "" },
		{ 2, 200, "Re:", "<2>", "" },
	};
	/* Dates decide, not sequence numbers; equal dates then do. */
	static const struct spec dates[] = {
		{ 1, 300, "a", "<1>", "" },
		{ 2, 100, "b", "<2>", "" },
		{ 3, 100, "c", "<3>", "" },
		{ 4, 500, "Re: a", "<4>", "<1>" },
		{ 5, 400, "Re: a", "<5>", "<1>" },
	};

	(void)state;
	CHECK(REF, s, "(1 3)(2)");
	CHECK(REF, two, "((1)(2))");
	CHECK(REF, replies, "((1)(2))");
	CHECK(REF, dummy, "((3)(1)(2))");
	CHECK(REF, empty, "(1)(2)");
	CHECK(REF, dates, "(2)(3)(1 (5)(4))");
}

static void
test_ordered_subject(void **state)
{
	static const struct spec s[] = {
		{ 1, 300, "Re: lunch", "", "" },
		{ 2, 100, "other", "", "" },
		{ 3, 200, "LUNCH", "", "" },
		{ 4, 400, "Fwd: Lunch", "", "" },
		{ 5, 50, "zeta", "", "" },
		{ 6, 400, "[list] lunch", "", "" },
	};
	static const struct spec one[] = {
		{ 7, 0, "x", "", "" },
	};

	(void)state;
	/* RFC 5256 3: parent first, each later message a child. */
	CHECK(ORD, s, "(5)(2)(3 (1)(4)(6))");
	CHECK(ORD, one, "(7)");
	{
		char *got = thread(ORD, s, 0, false);

		assert_string_equal(got, "");
		free(got);
	}
}

/* A thread as deep as a large folder: each message answers the one
 * before. Linking must not walk the chain for every message (that took
 * minutes), nor recurse once per level (the stack). */
static void
test_deep_chain(void **state)
{
	enum { N = 200000 };
	struct imap_sort_msg *m = xcalloc(N, sizeof(*m));
	struct imap_sort_msg **v = xcalloc(N, sizeof(*v));
	struct buf out;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		m[i].seq = m[i].uid = (uint32_t)i + 1;
		m[i].date = (int64_t)i;
		m[i].subject = xstrdup("s");
		m[i].reply = i > 0;
		m[i].message_id = xasprintf("<%zu@x>", i);
		if (i > 0) {
			m[i].refs = xcalloc(1, sizeof(*m[i].refs));
			m[i].refs[0] = xasprintf("<%zu@x>", i - 1);
			m[i].ref_count = 1;
		}
		v[i] = &m[i];
	}
	buf_init(&out, 0);
	imap_thread_build(REF, v, N, false, &out);
	assert_true(out.len > 20);
	assert_memory_equal(out.data, "(1 2 3 4 ", 9);
	assert_memory_equal(out.data + out.len - 15, " 199999 200000)", 15);
	buf_free(&out);
	for (size_t i = 0; i < N; i++)
		imap_sort_msg_clear(&m[i]);
	free(m);
	free(v);
}

static void
test_parse(void **state)
{
	static const struct {
		const char *args;
		int ret;
		enum imap_thread_algorithm algorithm;
		enum imap_search_error code;
	} cases[] = {
		{ "REFERENCES UTF-8 ALL", 0, REF, 0 },
		{ "orderedsubject us-ascii FROM x", 0, ORD, 0 },
		{ "REFERENCES \"UTF-8\" 1:*", 0, REF, 0 },
		{ "REFERENCES KOI8-R ALL", -1, REF,
		    IMAP_SEARCH_ERROR_BADCHARSET },
		{ "REFS UTF-8 ALL", -1, REF, IMAP_SEARCH_ERROR_SYNTAX },
		{ "REFERENCES UTF-8", -1, REF, IMAP_SEARCH_ERROR_SYNTAX },
		{ "REFERENCES (UTF-8) ALL", -1, REF,
		    IMAP_SEARCH_ERROR_SYNTAX },
		{ "REFERENCES UTF-8 BOGUS", -1, REF,
		    IMAP_SEARCH_ERROR_SYNTAX },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_parser *parser;
		const struct imap_command *cmd = it_parse_command(&parser,
		    "THREAD", cases[i].args);
		enum imap_thread_algorithm algorithm;
		struct imap_search *search = NULL;
		enum imap_search_error code;
		const char *error;
		int r = imap_thread_parse(cmd->args, cmd->args_count,
		    &algorithm, &search, &code, &error);

		if (r != cases[i].ret)
			fail_msg("%s: %d", cases[i].args, r);
		if (r == 0) {
			assert_int_equal(algorithm, cases[i].algorithm);
			assert_non_null(search);
		} else
			assert_int_equal(code, cases[i].code);
		imap_search_free(&search);
		imap_parser_free(&parser);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_dummy_root),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_subjects),
		cmocka_unit_test(test_ordered_subject),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
