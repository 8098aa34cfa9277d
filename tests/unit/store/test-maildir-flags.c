/* Unit tests for Maildir file names and flags (maildir-flags.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/maildir-flags.h"
#include "store/store.h"

static void
test_host_sanitize(void **state)
{
	char *h;

	(void)state;
	h = maildir_host_sanitize("mx/1:a");
	assert_string_equal(h, "mx\\0571\\072a");
	free(h);
	h = maildir_host_sanitize("");
	assert_string_equal(h, "localhost");
	free(h);
	h = maildir_host_sanitize("mail.example.org");
	assert_string_equal(h, "mail.example.org");
	free(h);
}

static void
test_name_format(void **state)
{
	char buf[256], small[16];
	uint64_t crlf_size;
	size_t size;

	(void)state;
	assert_int_equal(maildir_name_format(buf, sizeof(buf), 1700000000,
	    123456, 4242, 7, "host", 4096, 4160), 0);
	assert_string_equal(buf,
	    "1700000000.M123456P4242Q7.host,S=4096,W=4160");
	assert_true(maildir_name_size(buf, &size));
	assert_int_equal(size, 4096);
	assert_true(maildir_name_crlf_size(buf, &crlf_size));
	assert_int_equal(crlf_size, 4160);
	assert_int_equal(maildir_name_base_len(buf), strlen(buf));
	assert_int_equal(maildir_name_format(small, sizeof(small), 1700000000,
	    123456, 4242, 7, "host", 4096, 4160), -1);
}

static void
test_base_and_size(void **state)
{
	size_t size = 0;

	(void)state;
	assert_int_equal(maildir_name_base_len("abc:2,S"), 3);
	assert_int_equal(maildir_name_base_len("abc"), 3);
	assert_true(maildir_name_size("1.M1P1Q1.h,S=12,W=14:2,S", &size));
	assert_int_equal(size, 12);
	assert_false(maildir_name_size("1.M1P1Q1.h:2,S", &size));
	/* S= after the info separator is not the size. */
	assert_false(maildir_name_size("1.h:2,S=5", &size));
	assert_false(maildir_name_size("1.h,S=", &size));
	assert_false(maildir_name_size("1.h,S=1x", &size));
}

/* W= (Dovecot's virtual size) in either order with S=, and names
 * without one, as procmail, mutt and older mailbell write them. */
static void
test_crlf_size_name(void **state)
{
	uint64_t size = 0;

	(void)state;
	assert_true(maildir_name_crlf_size("1.M1P1Q1.h,S=12,W=14:2,S",
	    &size));
	assert_int_equal(size, 14);
	assert_true(maildir_name_crlf_size("1.M1P1Q1.h,W=9,S=8", &size));
	assert_int_equal(size, 9);
	assert_false(maildir_name_crlf_size("1.M1P1Q1.h,S=12:2,S", &size));
	assert_false(maildir_name_crlf_size("1.M1P1Q1.h", &size));
	/* W= in the info part is no size. */
	assert_false(maildir_name_crlf_size("1.h,S=3:2,W=5", &size));
	assert_false(maildir_name_crlf_size("1.h,W=", &size));
	assert_false(maildir_name_crlf_size("1.h,W=99999999999999999999999",
	    &size));
}

/* Bare LFs counted across pieces, a CRLF split between two of them
 * included. */
static void
test_crlf_extra(void **state)
{
	const unsigned char lf[] = "a\nb\n\nc", crlf[] = "a\r\nb\r\n";
	bool cr = false;

	(void)state;
	assert_int_equal(maildir_crlf_extra(lf, sizeof(lf) - 1, &cr), 3);
	assert_false(cr);
	cr = false;
	assert_int_equal(maildir_crlf_extra(crlf, sizeof(crlf) - 1, &cr), 0);
	cr = false;
	assert_int_equal(maildir_crlf_extra((const unsigned char *)"x\r", 2,
	    &cr), 0);
	assert_true(cr);
	assert_int_equal(maildir_crlf_extra((const unsigned char *)"\ny\n", 3,
	    &cr), 1);
	assert_false(cr);
	assert_int_equal(maildir_crlf_extra((const unsigned char *)"\n", 1,
	    &cr), 1);
	assert_int_equal(maildir_crlf_extra(lf, 0, &cr), 0);
	/* A bare CR is sent as it is. */
	cr = false;
	assert_int_equal(maildir_crlf_extra((const unsigned char *)"a\rb", 3,
	    &cr), 0);
}

static void
test_flags_parse(void **state)
{
	(void)state;
	assert_int_equal(maildir_name_flags("x"), 0);
	assert_int_equal(maildir_name_flags("x:2,"), 0);
	assert_int_equal(maildir_name_flags("x:2,FRS"),
	    STORE_FLAG_FLAGGED | STORE_FLAG_REPLIED | STORE_FLAG_SEEN);
	assert_int_equal(maildir_name_flags("x:2,DPTab"),
	    STORE_FLAG_DRAFT | STORE_FLAG_PASSED | STORE_FLAG_TRASHED);
	/* Experimental info ":1," carries no flags. */
	assert_int_equal(maildir_name_flags("x:1,S"), 0);
}

static void
test_flags_set(void **state)
{
	char *n;

	(void)state;
	n = maildir_name_set_flags("x", STORE_FLAG_SEEN | STORE_FLAG_DRAFT);
	assert_string_equal(n, "x:2,DS");
	free(n);
	n = maildir_name_set_flags("x:2,S", 0);
	assert_string_equal(n, "x:2,");
	free(n);
	/* Unknown letters (keywords a-z, others) kept, all in ASCII order. */
	n = maildir_name_set_flags("x:2,Sbaz", STORE_FLAG_FLAGGED |
	    STORE_FLAG_TRASHED);
	assert_string_equal(n, "x:2,FTabz");
	free(n);
	n = maildir_name_set_flags("x:2,Xc", STORE_FLAG_SEEN);
	assert_string_equal(n, "x:2,SXc");
	free(n);
}

static void
test_flags_round_trip(void **state)
{
	unsigned flags;
	char *n;

	(void)state;
	for (flags = 0; flags < 64; flags++) {
		n = maildir_name_set_flags("1.M2P3Q4.h,S=5:2,kq", flags);
		assert_int_equal(maildir_name_flags(n), flags);
		assert_int_equal(maildir_name_base_len(n),
		    strlen("1.M2P3Q4.h,S=5"));
		assert_non_null(strstr(n, "kq"));
		free(n);
	}
}

static void
test_keyword_letters(void **state)
{
	char *n;

	(void)state;
	assert_int_equal(maildir_name_keywords("x"), 0);
	assert_int_equal(maildir_name_keywords("x:2,S"), 0);
	assert_int_equal(maildir_name_keywords("x:2,Sabz"),
	    (1u << 0) | (1u << 1) | (1u << 25));
	/* Only the info part counts: letters of the base are not keywords. */
	assert_int_equal(maildir_name_keywords("abc.host,S=1:2,c"), 1u << 2);
	assert_int_equal(maildir_name_keywords("x:1,ab"), 0);

	/* Keywords after the uppercase flags, other letters kept. */
	n = maildir_name_set_info("x:2,SXc", STORE_FLAG_FLAGGED,
	    (1u << 0) | (1u << 3));
	assert_string_equal(n, "x:2,FXad");
	free(n);
	n = maildir_name_set_info("x:2,Sab", STORE_FLAG_SEEN, 0);
	assert_string_equal(n, "x:2,S");
	free(n);
	n = maildir_name_set_info("x", 0, 1u << 25);
	assert_string_equal(n, "x:2,z");
	free(n);
	/* Bits beyond the 26 letters make no letter. */
	n = maildir_name_set_info("x", 0, 1u << 26);
	assert_string_equal(n, "x:2,");
	free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_sanitize),
		cmocka_unit_test(test_name_format),
		cmocka_unit_test(test_base_and_size),
		cmocka_unit_test(test_crlf_size_name),
		cmocka_unit_test(test_crlf_extra),
		cmocka_unit_test(test_flags_parse),
		cmocka_unit_test(test_flags_set),
		cmocka_unit_test(test_flags_round_trip),
		cmocka_unit_test(test_keyword_letters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
