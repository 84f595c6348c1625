/* Mempool ops that catch double frees and use after free (checked_pool.h). */
#include <stdio.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

#include "tests/fuzz/checked_pool.h"

#define SLOTS 32768u /* open addressing, at least twice the objects */

static struct {
	const void *obj;
	uint8_t is_free;
} tab[SLOTS];
static unsigned nobj;
static int poisoning; /* off while the pool is built: mempool and pktmbuf init write free objects */
static size_t elt_size;

static unsigned slot_of(const void *obj, int insert)
{
	unsigned h = (unsigned)(((uintptr_t)obj >> 6) * 2654435761u) & (SLOTS - 1);

	for (unsigned i = 0; i < SLOTS; i++, h = (h + 1) & (SLOTS - 1)) {
		if (tab[h].obj == obj)
			return h;
		if (tab[h].obj == NULL) {
			if (!insert)
				break;
			tab[h].obj = obj;
			nobj++;
			return h;
		}
	}
	fprintf(stderr, "checked_pool: object %p was never part of the pool\n", obj);
	__sanitizer_print_stack_trace();
	abort();
}

static int cp_alloc(struct rte_mempool *mp)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), "cp_%s", mp->name);
	r = rte_ring_create(name, rte_align32pow2(mp->size + 1), mp->socket_id,
			    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!r)
		return -rte_errno;
	mp->pool_data = r;
	elt_size = mp->elt_size;
	return 0;
}

static void cp_free(struct rte_mempool *mp)
{
	rte_ring_free(mp->pool_data);
}

static int cp_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned s = slot_of(objs[i], !poisoning);

		if (tab[s].is_free) {
			fprintf(stderr, "checked_pool: double free of mbuf %p\n", objs[i]);
			__sanitizer_print_stack_trace();
			abort();
		}
		tab[s].is_free = 1;
		if (poisoning)
			ASAN_POISON_MEMORY_REGION(objs[i], elt_size);
	}
	return rte_ring_enqueue_bulk(mp->pool_data, objs, n, NULL) == n ? 0 : -ENOBUFS;
}

static int cp_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	if (rte_ring_dequeue_bulk(mp->pool_data, objs, n, NULL) != n)
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++) {
		unsigned s = slot_of(objs[i], 0);

		tab[s].is_free = 0;
		ASAN_UNPOISON_MEMORY_REGION(objs[i], elt_size);
	}
	return 0;
}

static unsigned cp_get_count(const struct rte_mempool *mp)
{
	return rte_ring_count(mp->pool_data);
}

static const struct rte_mempool_ops cp_ops = {
	.name = "st_checked",
	.alloc = cp_alloc,
	.free = cp_free,
	.enqueue = cp_enqueue,
	.dequeue = cp_dequeue,
	.get_count = cp_get_count,
};

struct rte_mempool *st_checked_pool_create(const char *name, unsigned n, uint16_t data_room)
{
	static int registered;
	struct rte_mempool *mp;

	if (n > SLOTS / 2 - 1)
		return NULL;
	if (!registered && rte_mempool_register_ops(&cp_ops) < 0)
		return NULL;
	registered = 1;
	mp = rte_pktmbuf_pool_create_by_ops(name, n, 0, 0, data_room, (int)rte_socket_id(),
					    cp_ops.name);
	if (!mp)
		return NULL;
	/* built: from now on a free object is poisoned */
	poisoning = 1;
	for (unsigned i = 0; i < SLOTS; i++)
		if (tab[i].obj && tab[i].is_free)
			ASAN_POISON_MEMORY_REGION(tab[i].obj, elt_size);
	return mp;
}
