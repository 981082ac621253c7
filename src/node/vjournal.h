/* vjournal.h — the vote agent's decision journal (protocol.md §15 "Exactly once"), node-local.
 *
 * The file holds the agent's latest decision only (slot, proposal id, the signed vote tx
 * bytes), so its size and the start-up read never grow with history. It is replaced
 * atomically (write path.tmp, fsync, rename, fsync the directory) BEFORE the vote is
 * broadcast; after a restart the agent rebroadcasts exactly these bytes. The agent holds an
 * exclusive flock on path.lock for its lifetime, so a second agent on the same journal (two
 * daemons sharing a home) is refused at start and never decides a slot.
 *
 * Record: "SBVJ1\n" | be64 slot | proposal_id (32) | be32 tx length | tx | SHA-256 of all the
 * preceding bytes (32). A short, over-long or mis-hashed file (a torn write on a filesystem
 * without atomic rename, a truncated copy) reads as "no decision" with a reason. */
#ifndef SB_VJOURNAL_H
#define SB_VJOURNAL_H

#include <stddef.h>
#include <stdint.h>

/* Largest tx accepted in a record (protocol.md §9 max_tx_size bound), bytes. */
#define SB_VJOURNAL_TX_MAX (64u * 1024 * 1024)

/* One decision. tx is owned (malloc'd) by a record filled by sb_vjournal_read. */
typedef struct sb_vjournal_rec {
    uint64_t slot;
    uint8_t proposal_id[32];
    uint8_t *tx;
    size_t txlen;
} sb_vjournal_rec;

/* Take the exclusive lock path.lock (created 0600), without waiting. Returns the lock fd
 * (>= 0), -2 when another process holds it, or -1 with err. */
int sb_vjournal_lock(const char *path, char *err, size_t errlen);
/* Release a lock taken by sb_vjournal_lock (closes fd). fd < 0 is a no-op. */
void sb_vjournal_unlock(int fd);

/* Read the journal: 1 with *out filled (caller frees with sb_vjournal_rec_free), 0 when there
 * is no usable record (missing file: err ""; torn or corrupt: err says why), -1 on an I/O
 * error with err. */
int sb_vjournal_read(const char *path, sb_vjournal_rec *out, char *err, size_t errlen);

/* Replace the journal with r atomically and durably (see above), file mode 0600. 0, or -1
 * with err (the previous record is then intact). */
int sb_vjournal_write(const char *path, const sb_vjournal_rec *r, char *err, size_t errlen);

/* Free out->tx and zero the record. */
void sb_vjournal_rec_free(sb_vjournal_rec *r);

#endif
