/*
 * Datagram budgets per source endpoint (address and port) and
 * registration: how many authenticated datagrams the notifier acts on
 * from one source for one registration in one second
 * (doc/notify-protocol.md 4.7). Per source, so replays sent from
 * elsewhere never spend the real client's; per registration too, so a
 * client that keeps several registrations on one socket gets the
 * budget of each. A fixed table of slots hashed by both, so its memory
 * never grows with the number of sources; no I/O and no libevent, time
 * is passed in.
 */
#ifndef MB_NOTIFY_NOTIFY_BUDGET_H
#define MB_NOTIFY_NOTIFY_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/notify-proto.h"

struct notify_budget;

/*
 * A table of slots (a power of two; NULL otherwise) granting per_sec
 * datagrams a second to each endpoint and registration. seed keys the
 * hash, so a sender cannot aim at the slot of a given endpoint; take it
 * from notify_random().
 */
struct notify_budget *notify_budget_new(size_t slots, unsigned per_sec,
    uint64_t seed);
void notify_budget_free(struct notify_budget **budgetp);

/*
 * Spend one datagram of endpoint addr (observed-address encoding,
 * section 3.3) for registration id in second now. Returns true if it
 * was within the budget, false if that endpoint already spent per_sec
 * for id in that second. One whose slot another took since starts
 * again with a full budget: eviction only ever gives budget, never
 * takes it.
 */
bool notify_budget_take(struct notify_budget *budget,
    const unsigned char addr[NOTIFY_ADDR_LEN], uint64_t id, uint32_t now);

#endif
