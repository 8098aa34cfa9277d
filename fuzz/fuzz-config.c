/*
 * libFuzzer harness for the configuration loader: the input is written
 * to a memory file and loaded as mailbell.conf is, through inih and the
 * key table. A load either fails with a printable "FILE:LINE: ..." error
 * or gives a configuration whose values are within their bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/config.h"

static int fd = -1;
static char path[64];

static void
file_init(void)
{
	if (fd >= 0)
		return;
	if ((fd = memfd_create("mailbell.conf", MFD_CLOEXEC)) < 0)
		abort();
	if ((size_t)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) >=
	    sizeof(path))
		abort();
}

static void
check(const struct mb_config *cfg)
{
	char *s;

	if (cfg->listen_count < 1 || cfg->listen_count > CONFIG_LISTEN_MAX ||
	    cfg->domain_count > CONFIG_DOMAINS_MAX || cfg->data_dir == NULL ||
	    cfg->hostname == NULL)
		abort();
	for (size_t i = 0; i < cfg->listen_count; i++)
		if (cfg->listen[i] == NULL)
			abort();
	for (size_t i = 0; i < cfg->domain_count; i++)
		for (const char *p = cfg->domains[i]; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
	if (cfg->lmtp_max_message_size == 0)
		abort();
	s = config_passwd_path(cfg);
	free(s);
	s = config_mail_root(cfg);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_config *cfg;
	const char *error;

	file_init();
	if (ftruncate(fd, 0) < 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (config_load(path, &cfg, &error) < 0) {
		if (error == NULL || strncmp(error, path, strlen(path)) != 0)
			abort();
		return 0;
	}
	check(cfg);
	config_free(&cfg);
	if (cfg != NULL)
		abort();
	return 0;
}
