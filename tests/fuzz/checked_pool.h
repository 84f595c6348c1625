/*
 * A checked mbuf pool for the fuzz harnesses: mempool ops that keep a ring of
 * free objects like the default ops, and also track which objects are free.
 * Freeing a free mbuf (a double free) prints the stack and aborts; while an
 * mbuf is free its memory is poisoned for AddressSanitizer, so a read or
 * write through a stale pointer is reported where it happens.
 *
 * State is one table for the process, used by the thread that owns the pool
 * (the harness's only lcore).
 */
#ifndef ST_TESTS_FUZZ_CHECKED_POOL_H
#define ST_TESTS_FUZZ_CHECKED_POOL_H

#include <rte_mbuf.h>

/* An mbuf pool of n mbufs (n <= 16383) with data_room bytes each, or NULL. */
struct rte_mempool *st_checked_pool_create(const char *name, unsigned n, uint16_t data_room);

#endif
