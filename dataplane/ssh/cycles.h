/*
 * The time-stamp counter for the workers' own cycle accounting (the split of
 * their busy time in `sshtermctl stats`). The SSH layer is sans I/O and does
 * not include DPDK, hence not rte_rdtsc(). 0 where there is no TSC.
 */
#ifndef ST_SSH_CYCLES_H
#define ST_SSH_CYCLES_H

#include <stdint.h>

static inline uint64_t st_cycles_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return 0;
#endif
}

#endif
