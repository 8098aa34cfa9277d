/*
 * Failed-login penalties by source address and by network (/24 for IPv4,
 * /64 for IPv6), kept across connections, as Dovecot's auth penalty: the
 * delay before a failed login is answered doubles with each recent
 * failure from a base, up to a cap, and the failures decay while the
 * address stays quiet. The table is bounded: when it is full, the entry
 * failed least recently is forgotten. Pure: no I/O, no libevent; the
 * time comes from a struct clock so tests run on simulated time.
 */
#ifndef MB_LIB_PENALTY_H
#define MB_LIB_PENALTY_H

#include <stddef.h>

#include "lib/clock.h"

struct penalty_table;

/* What the table counts and how delays grow; penalty_params_default()
 * fills these from limits.h. */
struct penalty_params {
	unsigned base_ms;	/* delay after the first failure */
	unsigned max_ms;	/* cap of the doubling delay */
	unsigned decay_ms;	/* one failure is forgotten per this long
				   without a new one */
	unsigned net_share;	/* failures of a network count 1/net_share
				   each: a /24 often holds several users */
	size_t max_entries;	/* addresses and networks tracked */
};

void penalty_params_default(struct penalty_params *params_r);

/* A table on clock (which must outlive it). Never NULL. */
struct penalty_table *penalty_new(const struct clock *clock,
    const struct penalty_params *params);
void penalty_free(struct penalty_table **tablep);

/*
 * Record a failed login from ip (numeric, as inet_ntop prints it; an
 * IPv4-mapped IPv6 address counts as IPv4) and return the delay in
 * milliseconds before answering it: base_ms doubled for each earlier
 * recent failure of the address, or of its network divided by
 * net_share, whichever is more, capped at max_ms. An unparsable ip
 * (a Unix socket) is not counted and gets base_ms.
 */
unsigned penalty_failed(struct penalty_table *table, const char *ip);
/* The delay a failure from ip would get now, without recording one. */
unsigned penalty_delay(struct penalty_table *table, const char *ip);
/* How long to hold any login from ip before checking it: 0 if neither
 * the address nor its network has recent failures, else what
 * penalty_delay() says, so a guesser on a penalised address cannot
 * learn of a right guess sooner than of a wrong one. */
unsigned penalty_hold(struct penalty_table *table, const char *ip);
/* A successful login from ip: forget the address's failures (not its
 * network's: another host there may be the one guessing). */
void penalty_succeeded(struct penalty_table *table, const char *ip);
/* Addresses and networks tracked now (at most max_entries). */
size_t penalty_count(const struct penalty_table *table);

#endif
