/*
 * `mailbell ports`: the firewall table for the configuration, like the
 * "Setting / Value" table of Microsoft KB 264035 but true for mailbell:
 * every port is fixed by one setting, notifications leave from one fixed
 * UDP port, and the client needs no inbound rule because it speaks first.
 * The whole output is an `nft -f` file: the tables are comments.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "lib/buf.h"
#include "lib/config.h"

static int cmd_ports(struct client_ctx *, int, char **);

const struct client_cmd cmd_ports_entry = {
	"ports",
	"ports [-c FILE]",
	"print the firewall table and nftables rules for the configuration",
	"Prints every port mailbell uses (service, protocol, direction, local\n"
	"and remote port, local addresses) for the configuration, followed by\n"
	"an nftables ruleset that accepts exactly that traffic. The output is\n"
	"a valid `nft -f` file; everything but the rules is a comment.\n"
	"A port of 0 in the configuration is picked when mailbelld starts and\n"
	"is shown as \"dynamic (chosen at start)\", with no rule.\n",
	cmd_ports,
};

/* The addresses a service binds, sorted by family for nft. */
struct ports_addrs {
	bool any;		/* "*": every address of both families */
	bool any4, any6;	/* 0.0.0.0 or :: */
	struct buf v4, v6;	/* "a, b" lists of specific addresses */
	struct buf all;		/* "a, b" as configured, for the table */
};

static void
addrs_add(struct ports_addrs *pa, const char *a)
{
	struct buf *b;

	buf_printf(&pa->all, "%s%s", pa->all.len > 0 ? ", " : "", a);
	if (strcmp(a, "*") == 0) {
		pa->any = true;
		return;
	}
	if (strcmp(a, "0.0.0.0") == 0) {
		pa->any4 = true;
		return;
	}
	if (strcmp(a, "::") == 0) {
		pa->any6 = true;
		return;
	}
	b = strchr(a, ':') != NULL ? &pa->v6 : &pa->v4;
	buf_printf(b, "%s%s", b->len > 0 ? ", " : "", a);
}

static void
addrs_init(struct ports_addrs *pa)
{
	memset(pa, 0, sizeof(*pa));
	buf_init(&pa->v4, 0);
	buf_init(&pa->v6, 0);
	buf_init(&pa->all, 0);
}

static void
addrs_free(struct ports_addrs *pa)
{
	buf_free(&pa->v4);
	buf_free(&pa->v6);
	buf_free(&pa->all);
}

/* What mailbelld binds: mail services on [server] listen, the admin port
 * on [admin] listen (loopback when it is not set). */
static void
addrs_for(const struct mb_config *cfg, bool admin, struct ports_addrs *pa)
{
	const char *const *addrs = (const char *const *)cfg->listen;
	size_t i, n = cfg->listen_count;

	addrs_init(pa);
	if (admin)
		n = config_admin_listen(cfg, &addrs);
	for (i = 0; i < n; i++)
		addrs_add(pa, addrs[i]);
}

static const char *
port_text(uint16_t port, char buf[32])
{
	if (port == 0)
		snprintf(buf, 32, "dynamic (chosen at start)");
	else
		snprintf(buf, 32, "%u", port);
	return buf;
}

/* One nft accept rule per address family for proto/port. */
static void
print_rules(const struct ports_addrs *pa, const char *proto, uint16_t port,
    const char *setting, const char *comment)
{
	if (port == 0) {
		printf("\t\t# %s = 0: picked at start, so no rule can name "
		    "it;\n\t\t# set a fixed port to open it in a firewall.\n",
		    setting);
		return;
	}
	if (pa->any) {
		printf("\t\t%s dport %u accept comment \"%s\"\n", proto, port,
		    comment);
		return;
	}
	if (pa->any4)
		printf("\t\tmeta nfproto ipv4 %s dport %u accept "
		    "comment \"%s\"\n", proto, port, comment);
	else if (pa->v4.len > 0)
		printf("\t\tip daddr { %s } %s dport %u accept "
		    "comment \"%s\"\n", buf_cstr(&pa->v4), proto, port,
		    comment);
	if (pa->any6)
		printf("\t\tmeta nfproto ipv6 %s dport %u accept "
		    "comment \"%s\"\n", proto, port, comment);
	else if (pa->v6.len > 0)
		printf("\t\tip6 daddr { %s } %s dport %u accept "
		    "comment \"%s\"\n", buf_cstr(&pa->v6), proto, port,
		    comment);
}

/* What the parts of the output share. */
struct ports_view {
	const struct mb_config *cfg;
	struct ports_addrs mail;	/* where IMAP, LMTP and notify listen */
	struct ports_addrs admin;	/* where the admin port listens */
	char imap[32], imaps[32], lmtp[32]; /* the ports as text */
	char admin_port[32], notify[32];
	char nport[32];			/* the notify port as a number */
	const char *server;		/* the server's address, for rules */
};

/* The comment block: the settings and a table of every flow. */
static void
print_table(struct ports_view *v)
{
	printf("# mailbell firewall table for %s\n",
	    v->cfg->file != NULL ? v->cfg->file : "the embedded default "
	    "configuration");
	printf("# This output is an nftables file: `mailbell ports > "
	    "mailbell.nft && nft -f mailbell.nft`.\n#\n");

	printf("# %-22s %s\n", "Setting", "Value");
	printf("# %-22s %s\n", "[server] listen", buf_cstr(&v->mail.all));
	printf("# %-22s %s\n", "[imap] port",
	    port_text(v->cfg->imap_port, v->imap));
	printf("# %-22s %s\n", "[imap] tls_port",
	    port_text(v->cfg->imap_tls_port, v->imaps));
	printf("# %-22s %s\n", "[lmtp] port",
	    port_text(v->cfg->lmtp_port, v->lmtp));
	printf("# %-22s %s (on %s)\n", "[admin] port",
	    port_text(v->cfg->admin_port, v->admin_port), buf_cstr(&v->admin.all));
	printf("# %-22s %s\n", "[notify] enabled",
	    v->cfg->notify_enabled ? "yes" : "no");
	printf("# %-22s %s\n#\n", "[notify] udp_port",
	    port_text(v->cfg->notify_udp_port, v->notify));

	printf("# %-7s %-5s %-28s %-26s %-s\n", "Service", "Proto",
	    "Direction", "Local (server) port", "Remote port");
	printf("# %-7s %-5s %-28s %-26s %-s\n", "IMAP", "TCP",
	    "in: client -> server", v->imap, "any");
	printf("# %-7s %-5s %-28s %-26s %-s\n", "IMAPS", "TCP",
	    "in: client -> server (TLS)", v->imaps, "any");
	printf("# %-7s %-5s %-28s %-26s %-s\n", "LMTP", "TCP",
	    "in: MTA -> server", v->lmtp, "any");
	printf("# %-7s %-5s %-28s %-26s %-s\n", "admin", "TCP",
	    "in: monitoring -> server", v->admin_port, "any");
	if (v->cfg->notify_enabled) {
		printf("# %-7s %-5s %-28s %-26s %-s\n", "notify", "UDP",
		    "in: client -> server", v->notify,
		    "any, or the client's fixed one");
		printf("# %-7s %-5s %-28s %-26s %-s\n", "", "", "", "",
		    "(mailbell watch --udp-port)");
		printf("# %-7s %-5s %-28s %-26s %-s\n", "notify", "UDP",
		    "out: server -> client reply", v->notify,
		    "the port the client's");
		printf("# %-7s %-5s %-28s %-26s %-s\n", "", "", "", "(source)",
		    "datagrams came from");
	} else {
		printf("# %-7s %s\n", "notify",
		    "disabled ([notify] enabled = no): no UDP at all");
	}
	printf("#\n"
	    "# IMAP, LMTP and notify listen on [server] listen; the admin "
	    "port on\n"
	    "# [admin] listen, loopback only unless that is set.\n");
	if (v->cfg->notify_enabled)
		printf("# Every notification leaves from [notify] udp_port "
		    "(%s) and goes to the\n"
		    "# address and port the client's own datagrams came "
		    "from, so stateful\n"
		    "# firewalls and NATs on either side see replies to "
		    "the client's traffic.\n",
		    v->cfg->notify_udp_port != 0 ? v->nport :
		    "dynamic here: set a fixed port");
	printf("\n");

}

/* The nftables table for the server. */
static void
print_nft_server(const struct ports_view *v)
{
	/* declare, delete, define: loading the file twice replaces the
	 * table instead of adding the rules again */
	printf("table inet mailbell\n"
	    "delete table inet mailbell\n"
	    "table inet mailbell {\n"
	    "\tchain input {\n"
	    "\t\t# Accept rules only: the policy is left to you. With "
	    "\"policy drop\"\n"
	    "\t\t# here this chain admits exactly mailbell's traffic (add "
	    "ssh etc.).\n"
	    "\t\t# A drop in any other table's input chain still wins, "
	    "so if your\n"
	    "\t\t# ruleset drops by default, put these rules into that "
	    "chain instead.\n"
	    "\t\ttype filter hook input priority filter; policy accept;\n"
	    "\t\tct state established,related accept\n");
	print_rules(&v->mail, "tcp", v->cfg->imap_port, "[imap] port",
	    "mailbell IMAP");
	print_rules(&v->mail, "tcp", v->cfg->imap_tls_port, "[imap] tls_port",
	    "mailbell IMAP over TLS");
	print_rules(&v->mail, "tcp", v->cfg->lmtp_port, "[lmtp] port",
	    "mailbell LMTP from the MTA");
	print_rules(&v->admin, "tcp", v->cfg->admin_port, "[admin] port",
	    "mailbell admin HTTP");
	if (v->cfg->notify_enabled)
		print_rules(&v->mail, "udp", v->cfg->notify_udp_port,
		    "[notify] udp_port",
		    "mailbell notify: registration and keepalives");
	printf("\t}\n");
	if (v->cfg->notify_enabled && v->cfg->notify_udp_port != 0)
		printf("\n"
		    "\t# Only if you filter output as well: the server's "
		    "datagrams leave\n"
		    "\t# from %u/udp (they are replies, so \"ct state "
		    "established\" covers\n"
		    "\t# them too).\n"
		    "\t# chain output {\n"
		    "\t#\ttype filter hook output priority filter; "
		    "policy accept;\n"
		    "\t#\tct state established,related accept\n"
		    "\t#\tudp sport %u accept\n"
		    "\t# }\n", v->cfg->notify_udp_port, v->cfg->notify_udp_port);
	printf("}\n");
}

/* The commented example for a client. */
static void
print_nft_client(const struct ports_view *v)
{
	printf("\n"
	    "# On a client (mailbell watch) nothing inbound needs opening, "
	    "even with a\n"
	    "# default-drop input policy: the client sends first, from its "
	    "UDP port\n"
	    "# to the server's %s/udp, and the server's notifications "
	    "come back from\n"
	    "# that same port to that same client port, as replies that "
	    "\"ct state\n"
	    "# established\" admits. The client keeps the flow (and any "
	    "NAT mapping)\n"
	    "# alive with keepalives at the interval the server "
	    "advertises. Example:\n"
	    "#\n"
	    "# table inet mailbell_client {\n"
	    "#\tchain input {\n"
	    "#\t\ttype filter hook input priority filter; policy drop;\n"
	    "#\t\tct state established,related accept\n"
	    "#\t\tiif \"lo\" accept\n"
	    "#\t}\n"
	    "#\tchain output {\n"
	    "#\t\t# only needed if output is filtered\n"
	    "#\t\ttype filter hook output priority filter; policy accept;\n"
	    "#\t\t%s daddr %s tcp dport %s accept\n",
	    v->cfg->notify_udp_port != 0 ? v->nport : "(dynamic)",
	    strchr(v->server, ':') != NULL ? "ip6" : "ip", v->server,
	    v->cfg->imap_port != 0 ? v->imap : "IMAP_PORT");
	if (v->cfg->notify_enabled)
		printf("#\t\t%s daddr %s udp dport %s accept\n",
		    strchr(v->server, ':') != NULL ? "ip6" : "ip", v->server,
		    v->cfg->notify_udp_port != 0 ? v->nport : "NOTIFY_PORT");
	printf("#\t}\n"
	    "# }\n"
	    "#\n"
	    "# The client's UDP port may be any; `mailbell watch "
	    "--udp-port N` fixes it\n"
	    "# for firewalls that match the client's source port.\n");
	if (v->cfg->notify_enabled)
		printf("#\n"
		    "# A firewall in front of the client that does not track "
		    "flows needs one\n"
		    "# pinhole for the notifications, to the client's fixed "
		    "port P\n"
		    "# (`mailbell watch --udp-port P`):\n"
		    "#\t%s saddr %s udp sport %s udp dport P accept\n",
		    strchr(v->server, ':') != NULL ? "ip6" : "ip", v->server,
		    v->cfg->notify_udp_port != 0 ? v->nport : "NOTIFY_PORT");
}

static void
print_ports(const struct mb_config *cfg)
{
	struct ports_view v;

	memset(&v, 0, sizeof(v));
	v.cfg = cfg;
	v.server = "SERVER";
	addrs_for(cfg, false, &v.mail);
	addrs_for(cfg, true, &v.admin);
	if (cfg->listen_count == 1 && !config_addr_is_wildcard(cfg->listen[0]))
		v.server = cfg->listen[0];
	snprintf(v.nport, sizeof(v.nport), "%u", cfg->notify_udp_port);
	print_table(&v);
	print_nft_server(&v);
	print_nft_client(&v);
	addrs_free(&v.mail);
	addrs_free(&v.admin);
}

static int
cmd_ports(struct client_ctx *ctx, int argc, char **argv)
{
	struct mb_config *cfg;
	int ret;

	ret = client_plain_options(ctx, &cmd_ports_entry, argc, argv);
	if (ret >= 0)
		return ret;
	if ((ret = client_load_config(ctx, &cfg)) != 0)
		return ret;
	print_ports(cfg);
	config_free(&cfg);
	if (fflush(stdout) != 0 || ferror(stdout))
		return EX_IOERR;
	return 0;
}
