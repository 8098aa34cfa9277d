/* Unit tests for daemon/reload-keys.c: every key of the file is in the
 * reload table, and values compare, show and change hands right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/reload-keys.h"
#include "lib/config-private.h"
#include "lib/config.h"
#include "lib/xmalloc.h"

static const struct reload_key *
find(const char *name)
{
	size_t i;

	for (i = 0; i < reload_key_count; i++)
		if (strcmp(reload_keys[i].name, name) == 0)
			return &reload_keys[i];
	return NULL;
}

static struct mb_config *
load_default(void)
{
	struct mb_config *cfg;
	const char *error;

	assert_int_equal(config_load(NULL, &cfg, &error), 0);
	return cfg;
}

/* A key added to the file without a line in the reload table would be
 * neither applied nor reported. */
static void
test_every_key_listed(void **state)
{
	char name[64];
	size_t i;

	(void)state;
	for (i = 0; i < config_key_count; i++) {
		snprintf(name, sizeof(name), "%s.%s", config_keys[i].section,
		    config_keys[i].name);
		if (find(name) == NULL)
			fail_msg("%s is not in reload_keys[]", name);
	}
	assert_int_equal(reload_key_count, config_key_count);
	assert_int_equal(find("imap.port")->when, RELOAD_RESTART);
	assert_int_equal(find("imap.login_timeout")->when, RELOAD_LIVE);
	assert_int_equal(find("tls.cert_file")->when, RELOAD_TLS);
}

static void
test_numbers(void **state)
{
	const struct reload_key *timeout = find("imap.login_timeout");
	const struct reload_key *size = find("lmtp.max_message_size");
	const struct reload_key *port = find("imap.port");
	struct mb_config *a = load_default(), *b = load_default();
	char text[RELOAD_VALUE_TEXT_SIZE];

	(void)state;
	assert_false(reload_key_differs(timeout, a, b));
	b->imap_login_timeout = 30;
	b->imap_port = 143;
	assert_true(reload_key_differs(timeout, a, b));
	assert_true(reload_key_differs(port, a, b));
	assert_false(reload_key_differs(size, a, b));
	reload_key_format(timeout, a, text);
	assert_string_equal(text, "60s");
	reload_key_format(size, a, text);
	assert_string_equal(text, "52428800");
	reload_key_format(port, b, text);
	assert_string_equal(text, "143");

	reload_key_swap(timeout, a, b);
	assert_int_equal(a->imap_login_timeout, 30);
	assert_int_equal(b->imap_login_timeout, 60);
	assert_int_equal(a->imap_port, 1143);
	reload_key_swap(timeout, a, b);
	assert_int_equal(a->imap_login_timeout, 60);
	config_free(&a);
	config_free(&b);
}

static void
test_strings_and_lists(void **state)
{
	const struct reload_key *domains = find("server.domains");
	const struct reload_key *cert = find("tls.cert_file");
	const struct reload_key *level = find("server.log_level");
	struct mb_config *a = load_default(), *b = load_default();
	char text[RELOAD_VALUE_TEXT_SIZE];

	(void)state;
	reload_key_format(domains, a, text);
	assert_string_equal(text, "(none)");
	reload_key_format(cert, a, text);
	assert_string_equal(text, "(unset)");
	reload_key_format(level, a, text);
	assert_string_equal(text, "info");

	b->domains[0] = xstrdup("example.org");
	b->domains[1] = xstrdup("example.net");
	b->domain_count = 2;
	b->tls_cert_file = xstrdup("/etc/c.pem");
	assert_true(reload_key_differs(domains, a, b));
	assert_true(reload_key_differs(cert, a, b));
	reload_key_format(domains, b, text);
	assert_string_equal(text, "example.org, example.net");

	/* The values change hands, and each config frees what it holds. */
	reload_key_swap(domains, a, b);
	reload_key_swap(cert, a, b);
	assert_int_equal(a->domain_count, 2);
	assert_int_equal(b->domain_count, 0);
	assert_string_equal(a->domains[1], "example.net");
	assert_null(b->tls_cert_file);
	free(b->hostname);
	b->hostname = xstrdup(a->hostname);
	assert_false(reload_key_differs(find("server.hostname"), a, b));

	/* Same items in another order differ: the order is the file's. */
	b->domains[0] = xstrdup("example.net");
	b->domains[1] = xstrdup("example.org");
	b->domain_count = 2;
	assert_true(reload_key_differs(domains, a, b));
	config_free(&a);
	config_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_listed),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings_and_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
