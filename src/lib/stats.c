/* The process-wide counters. */
#include "lib/stats.h"

struct mb_stats mb_stats;
