/*
 * `mailbell config`: print the configuration in effect as INI text. With
 * no -c that is the embedded default, exactly as mailbelld uses it; with
 * -c FILE the file is checked and every setting shown, defaults included.
 */
#include <stdio.h>
#include <stdlib.h>

#include "client/client.h"
#include "lib/config.h"

static int cmd_config(struct client_ctx *, int, char **);

const struct client_cmd cmd_config_entry = {
	"config",
	"config [-c FILE]",
	"check the configuration and print every setting in effect",
	"Without -c, prints the embedded default configuration, a valid file\n"
	"to start from. With -c FILE, checks FILE (an error names FILE:LINE,\n"
	"exit 78) and prints every setting, defaults included.\n",
	cmd_config,
};

static void
print_list(const char *key, const char *const *items, size_t count)
{
	size_t i;

	printf("%s =", key);
	for (i = 0; i < count; i++)
		printf("%s%s", i == 0 ? " " : ", ", items[i]);
	printf("\n");
}

static void
print_config(const struct mb_config *cfg)
{
	const char *const *admin;
	size_t nadmin;

	printf("# settings in effect for %s\n", cfg->file);
	printf("[server]\n");
	printf("data_dir = %s\n", cfg->data_dir);
	print_list("listen", (const char *const *)cfg->listen,
	    cfg->listen_count);
	if (cfg->domain_count > 0)
		print_list("domains", (const char *const *)cfg->domains,
		    cfg->domain_count);
	else
		printf("# domains: none listed, any domain is accepted\n");
	printf("hostname = %s\n", cfg->hostname);
	if (cfg->user != NULL)
		printf("user = %s\n", cfg->user);
	else
		printf("# user: not set, mailbelld keeps the user it was "
		    "started as\n");
	printf("log_level = %s\n", config_log_level_name(cfg->log_level));
	printf("\n[imap]\nport = %u\n", cfg->imap_port);
	printf("tls_port = %u\n", cfg->imap_tls_port);
	printf("plaintext_auth = %s\n",
	    config_plaintext_auth_name(cfg->imap_plaintext_auth));
	printf("idle_keepalive = %us\n", cfg->imap_idle_keepalive);
	printf("max_connections_per_user = %u\n",
	    cfg->imap_max_connections_per_user);
	printf("max_connections_per_ip = %u\n",
	    cfg->imap_max_connections_per_ip);
	printf("login_timeout = %us\n", cfg->imap_login_timeout);
	printf("max_prelogin_connections = %u\n", cfg->imap_max_prelogin);
	printf("max_prelogin_connections_per_ip = %u\n",
	    cfg->imap_max_prelogin_per_ip);
	printf("\n[lmtp]\nport = %u\n", cfg->lmtp_port);
	printf("max_message_size = %llu\n",
	    (unsigned long long)cfg->lmtp_max_message_size);
	printf("\n[admin]\nport = %u\n", cfg->admin_port);
	nadmin = config_admin_listen(cfg, &admin);
	print_list("listen", admin, nadmin);
	if (cfg->admin_token_file != NULL)
		printf("token_file = %s\n", cfg->admin_token_file);
	else
		printf("# token_file: not set, requests need no token\n");
	printf("\n[notify]\nenabled = %s\n", cfg->notify_enabled ? "yes" :
	    "no");
	printf("udp_port = %u\n", cfg->notify_udp_port);
	printf("keepalive = %us\n", cfg->notify_keepalive);
	printf("lease = %us\n", cfg->notify_lease);
	printf("max_registrations_per_user = %u\n",
	    cfg->notify_max_registrations_per_user);
	printf("max_registrations = %u\n", cfg->notify_max_registrations);
	printf("\n[tls]\n");
	if (cfg->tls_cert_file != NULL) {
		printf("cert_file = %s\n", cfg->tls_cert_file);
		printf("key_file = %s\n", cfg->tls_key_file);
	} else {
		printf("# cert_file, key_file: not set, mailbelld uses "
		    "%s/tls/mailbell.crt and .key (self-signed, made at first "
		    "start)\n", cfg->data_dir);
	}
}

static int
cmd_config(struct client_ctx *ctx, int argc, char **argv)
{
	struct mb_config *cfg;
	int ret;

	ret = client_plain_options(ctx, &cmd_config_entry, argc, argv);
	if (ret >= 0)
		return ret;
	if ((ret = client_load_config(ctx, &cfg)) != 0)
		return ret;
	if (cfg->file == NULL)
		fputs(config_default_text(), stdout);
	else
		print_config(cfg);
	config_free(&cfg);
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return 0;
}
