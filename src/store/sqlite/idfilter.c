/*
 * Which object UUIDs the store may hold, in memory: a Bloom filter over
 * the UUID of every version. Its "no" is certain, its "maybe" goes to the
 * key index. Most ids a partner sends while catching up, and most an
 * import writes, are new; without the filter each costs two B-tree probes
 * (keys_main, keys_recent) when the envelope is checked and two more when
 * the writer writes it, in pages spread over the whole index.
 *
 * Kept in step through the log: every version with seq <= through is in
 * it. Whichever process writes gives seqs in commit order (the writer
 * reloads its high-water mark when another connection wrote), so folding
 * in the rows after `through`, in the caller's snapshot, makes the filter
 * complete for that snapshot. The writer adds what it inserts as it
 * inserts it and moves `through` after its commit; an insert rolled back
 * leaves a bit set, a false "maybe", never a false "no". Only the writer
 * rebuilds a filter in use: it holds the write lock, so nothing it added
 * in its open transaction can be lost to a rebuild from an older snapshot.
 *
 * Built on first need, once the lookups asked since the store was opened
 * reach a quarter of its rows: a build reads every key once, so a small
 * command against a large store never pays for it.
 */
#include "store/sqlite/sqlite_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Filter bits per UUID it was sized for, and bits tested per UUID: about
 * one "maybe" in a hundred for a new UUID when full, and fewer before. */
#define IDF_BITS_PER 10
#define IDF_K 4
/* Sized for twice the rows at a build, at least this many. */
#define IDF_MIN_CAP ((uint64_t)1 << 16)

void sq_idf_init(struct sq_idf *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	randombytes_buf(f->key, sizeof(f->key));
}

void sq_idf_free(struct sq_idf *f)
{
	free(f->bits);
	f->bits = NULL;
	pthread_mutex_destroy(&f->mu);
}

/* The K bit positions of uuid: double hashing over one keyed 64-bit hash
 * (keyed, so ids chosen by a partner cannot be made to collide). */
static void positions(const struct sq_idf *f, const uint8_t uuid[16],
		      uint64_t pos[IDF_K])
{
	uint8_t h8[crypto_shorthash_BYTES];
	crypto_shorthash(h8, uuid, 16, f->key);
	uint64_t h;
	memcpy(&h, h8, sizeof(h));
	uint64_t step = (h >> 29 | h << 35) | 1;
	for (int i = 0; i < IDF_K; i++)
		pos[i] = (h + (uint64_t)i * step) & f->mask;
}

bool sq_idf_covers_locked(const struct sq_idf *f, int64_t max_seq)
{
	return f->built && f->through >= max_seq;
}

bool sq_idf_maybe_locked(const struct sq_idf *f, const uint8_t uuid[16])
{
	if (!f->built)
		return true;
	uint64_t pos[IDF_K];
	positions(f, uuid, pos);
	for (int i = 0; i < IDF_K; i++)
		if (!(f->bits[pos[i] >> 6] & (UINT64_C(1) << (pos[i] & 63))))
			return false;
	return true;
}

void sq_idf_add_locked(struct sq_idf *f, const uint8_t uuid[16])
{
	if (!f->built)
		return;
	uint64_t pos[IDF_K];
	positions(f, uuid, pos);
	for (int i = 0; i < IDF_K; i++)
		f->bits[pos[i] >> 6] |= UINT64_C(1) << (pos[i] & 63);
	f->n++;
}

/* Adds the UUID of every row st returns (its column 0). */
static int add_rows(struct sq_idf *f, sqlite3 *db, sqlite3_stmt *st,
		    struct diag *d)
{
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) == 16)
			sq_idf_add_locked(f, sqlite3_column_blob(st, 0));
	}
	int rc = src == SQLITE_DONE ? ST_OK : sql_diag(db, d, "id filter");
	sqlite3_reset(st);
	return rc;
}

int sq_idf_sync_locked(struct sq_idf *f, sqlite3 *db,
		       const struct sq_idf_stmts *q, int64_t max_seq,
		       uint64_t asked, bool may_rebuild, struct diag *d)
{
	f->asked += asked;
	bool grow = f->built && may_rebuild && f->n > f->cap;
	if (f->built && !grow) {
		if (max_seq <= f->through)
			return ST_OK;
		sqlite3_bind_int64(q->after, 1, f->through);
		int rc = add_rows(f, db, q->after, d);
		sqlite3_clear_bindings(q->after);
		if (rc == ST_OK)
			f->through = max_seq;
		return rc;
	}
	if (!f->built && f->asked < (uint64_t)max_seq / 4)
		return ST_OK; /* not yet worth a build */
	/* A build: every key of the snapshot, max_seq being its last (there
	 * are no more versions than seqs; the UUIDs added count them too). */
	uint64_t rows = (uint64_t)(max_seq > 0 ? max_seq : 0);
	if (rows < f->n)
		rows = f->n;
	uint64_t cap = 2 * rows;
	if (cap < IDF_MIN_CAP)
		cap = IDF_MIN_CAP;
	uint64_t nbits = 64;
	while (nbits < cap * IDF_BITS_PER)
		nbits <<= 1;
	uint64_t *bits = calloc(nbits / 64, sizeof(*bits));
	free(f->bits);
	f->bits = NULL;
	f->built = false;
	if (bits == NULL)
		return ST_OK; /* no filter: every id is a "maybe" */
	f->bits = bits;
	f->mask = nbits - 1;
	f->cap = cap;
	f->n = 0;
	f->built = true;
	int rc = add_rows(f, db, q->all, d);
	if (rc != ST_OK) {
		/* half built: not used until the next build */
		f->built = false;
		free(f->bits);
		f->bits = NULL;
		return rc;
	}
	f->through = max_seq;
	f->builds++;
	return ST_OK;
}
