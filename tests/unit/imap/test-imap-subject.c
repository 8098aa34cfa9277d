/* Tests of base subject extraction (RFC 5256 2.1), one rule at a time
 * and then together, and of the i;ascii-casemap collation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap/imap-subject.h"

static void
check(const char *subject, const char *base, bool reply)
{
	bool got_reply = !reply;
	char *got = imap_base_subject(subject, &got_reply);

	if (strcmp(got, base) != 0 || got_reply != reply)
		fail_msg("subject \"%s\": got \"%s\" reply %d, expected "
		    "\"%s\" reply %d", subject, got, got_reply, base, reply);
	free(got);
}

/* Step 1: runs of white space are one space. */
static void
test_white_space(void **state)
{
	(void)state;
	check("hello", "hello", false);
	check("  hello \t  world  ", "hello world", false);
	check("hello\r\n\tworld", "hello world", false);
	check("", "", false);
	check(" \t ", "", false);
	check("caf\xc3\xa9  au lait", "caf\xc3\xa9 au lait", false);
}

/* Step 2: trailing "(fwd)" and blanks, repeatedly. */
static void
test_trailers(void **state)
{
	(void)state;
	check("hello (fwd)", "hello", true);
	check("hello (FWD) (Fwd)  ", "hello", true);
	check("hello(fwd)", "hello", true);
	check("hello (fwd) x", "hello (fwd) x", false);
	check("hello (fw)", "hello (fw)", false);
	check("(fwd)", "", true);
}

/* Step 3: subj-leader = (*subj-blob subj-refwd) / WSP. */
static void
test_leaders(void **state)
{
	(void)state;
	check("Re: hello", "hello", true);
	check("re:hello", "hello", true);
	check("RE: Re: rE: hello", "hello", true);
	check("Fw: hello", "hello", true);
	check("FWD: hello", "hello", true);
	check("Fwd : hello", "hello", true);
	check("Re [list]: hello", "hello", true);
	check("Re  [list] : hello", "hello", true);
	check("[list] Re: hello", "hello", true);
	check("[a][b] Re: hello", "hello", true);
	check("[a] [b] Fwd: Re: hello", "hello", true);
	check("Re:", "", true);
	check("Re: ", "", true);
	/* Not leaders. */
	check("Reply: hello", "Reply: hello", false);
	check("Fwx: hello", "Fwx: hello", false);
	check("Re hello", "Re hello", false);
	check("Re [a] [b]: hello", "Re [a] [b]: hello", false);
	check("Ré: hello", "Ré: hello", false);
	check("Re[a: hello", "Re[a: hello", false);
}

/* Step 4: a leading blob goes unless nothing would be left. */
static void
test_blobs(void **state)
{
	(void)state;
	check("[list] hello", "hello", false);
	check("[a] [b] hello", "hello", false);
	check("[a][b]hello", "hello", false);
	check("[list]", "[list]", false);
	check("[list]  ", "[list]", false);
	check("[a] [b]", "[b]", false);
	check("[] hello", "hello", false);
	check("[a hello", "[a hello", false);
	check("[a [b] hello", "[a [b] hello", false);
	/* Step 5: leaders and blobs in any mix. */
	check("Re: [list] Re: [other] hello", "hello", true);
	check("Re: [list]", "[list]", true);
}

/* Step 6: "[fwd:" subj-base "]", then back to step 2. */
static void
test_fwd_wrapper(void **state)
{
	(void)state;
	check("[fwd: hello]", "hello", true);
	check("[Fwd: Re: [list] hello (fwd)]", "hello", true);
	check("[fwd: [fwd: hello]]", "hello", true);
	check("[fwd: hello] (fwd)", "hello", true);
	check("Re: [Fwd: hello]", "hello", true);
	check("[fwd: hello] world", "world", false);
	check("[fwd:]", "[fwd:]", false);
	/* "[fwd: x]" is a blob too, but removing it would leave nothing,
	 * so step 6 unwraps it. */
	check("[fwd: x]", "x", true);
}

static void
test_casemap(void **state)
{
	(void)state;
	assert_int_equal(imap_casemap_cmp("abc", "ABC"), 0);
	assert_int_equal(imap_casemap_cmp("", ""), 0);
	assert_true(imap_casemap_cmp("a", "B") < 0);
	assert_true(imap_casemap_cmp("B", "a") > 0);
	assert_true(imap_casemap_cmp("ab", "a") > 0);
	assert_true(imap_casemap_cmp("", "a") < 0);
	/* Only a-z fold: "[" (0x5b) sorts between "Z" and "a"... after
	 * folding, between "Z" and "_". */
	assert_true(imap_casemap_cmp("[", "z") > 0);
	assert_true(imap_casemap_cmp("[", "_") < 0);
	/* Bytes above 0x7f compare as unsigned and do not fold. */
	assert_true(imap_casemap_cmp("\xc3\xa9", "z") > 0);
	assert_true(imap_casemap_cmp("\xc3\xa9", "\xc3\x89") != 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_white_space),
		cmocka_unit_test(test_trailers),
		cmocka_unit_test(test_leaders),
		cmocka_unit_test(test_blobs),
		cmocka_unit_test(test_fwd_wrapper),
		cmocka_unit_test(test_casemap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
