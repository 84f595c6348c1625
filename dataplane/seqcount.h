/*
 * A single-writer sequence counter: the owner thread publishes a struct, any
 * thread reads a consistent copy without a lock and without stopping the
 * writer (it retries while a write is under way). DPDK 22.11 has
 * rte_seqcount, but only as experimental API.
 *
 * Writer: st_seq_write_begin(&sc); update the fields; st_seq_write_end(&sc).
 * Reader: do { sn = st_seq_read_begin(&sc); copy; } while (st_seq_read_retry(&sc, sn));
 * The fields are copied with plain loads and stores; the fences order them
 * against the counter, so a copy that raced a write is detected and redone.
 */
#ifndef ST_DATAPLANE_SEQCOUNT_H
#define ST_DATAPLANE_SEQCOUNT_H

#include <stdint.h>

typedef struct {
	uint32_t sn; /* odd while a write is in progress */
} st_seqcount_t;

static inline void st_seq_init(st_seqcount_t *sc)
{
	__atomic_store_n(&sc->sn, 0, __ATOMIC_RELAXED);
}

static inline void st_seq_write_begin(st_seqcount_t *sc)
{
	__atomic_store_n(&sc->sn, sc->sn + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE); /* the odd count before the data */
}

static inline void st_seq_write_end(st_seqcount_t *sc)
{
	__atomic_store_n(&sc->sn, sc->sn + 1, __ATOMIC_RELEASE); /* the data before the even count */
}

static inline uint32_t st_seq_read_begin(const st_seqcount_t *sc)
{
	uint32_t sn;

	while ((sn = __atomic_load_n(&sc->sn, __ATOMIC_ACQUIRE)) & 1) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return sn;
}

/* 1 when the copy made since st_seq_read_begin may be torn: copy again. */
static inline int st_seq_read_retry(const st_seqcount_t *sc, uint32_t begin)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the data before the second look */
	return __atomic_load_n(&sc->sn, __ATOMIC_RELAXED) != begin;
}

#endif
