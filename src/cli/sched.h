/* sched.h — the pure part of `sleetbubble schedule` (protocol.md §15 "Curator schedule"):
 * the curator's index (file bytes -> CID, duration, tags; rotation state) as JSON, the
 * rotation rule and the slot packing. No file, clock or network access here: schedule.c
 * does the I/O. */
#ifndef SB_CLI_SCHED_H
#define SB_CLI_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cid.h"
#include "tracks.h"

/* Version of the index file format written by sched_index_to_json. */
#define SCHED_INDEX_VERSION 1
/* Most proposals the index remembers (the rotation window K plus the still-open ones are
 * far fewer); --no-repeat-slots is capped below this. */
#define SCHED_MAX_PROPOSALS 4096u
#define SCHED_MAX_NO_REPEAT 1024u
/* Most library files indexed (a larger library is refused, not silently cut). */
#define SCHED_MAX_FILES 100000u

/* One library file. Strings owned by the entry. stat fields are the fast path: a file whose
 * (size, mtime, ctime, inode) are unchanged is not read again; otherwise its SHA-256 is
 * recomputed and a new hash makes it a new track (re-encoded or replaced file). */
typedef struct sched_file {
    char *path;      /* relative to the library directory */
    char sha256[65]; /* lowercase hex of the file's bytes */
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
    uint64_t ino;
    char *skip;           /* NULL: audio; else why it is never a track ("not audio: …") */
    uint32_t duration_ms; /* audio only */
    char title[CLI_TAG_MAX], artist[CLI_TAG_MAX];
    char cid[SB_CID_STR_MAX]; /* "" until added to Kubo */
    int has_last;             /* has last_slot: the last slot this curator proposed it for */
    uint64_t last_slot;
} sched_file;

/* One of this curator's proposals (made by this command or found on chain). */
typedef struct sched_prop {
    uint64_t slot;
    char proposal_id[65]; /* lowercase hex */
    size_t ncids;
    char **cids;  /* owned */
    char *tx_b64; /* owned; the signed tx while its slot may still be open (rebroadcast
                             after a crash or a dropped mempool entry), NULL once committed */
} sched_prop;

/* The index of one curator key: HOME/schedule/NAME.json (schedule.c). Owns everything;
 * free with sched_index_free. */
typedef struct sched_index {
    char *library;   /* the library directory the files are relative to */
    char *kubo_peer; /* the Kubo node (peer ID) the CIDs were added to; "" unknown */
    size_t nfiles;
    sched_file *files;
    size_t nprops;
    sched_prop *props; /* sorted by slot ascending, one per slot */
} sched_index;

void sched_index_free(sched_index *x);

/* Parse an index JSON value (borrowed). 0, or -1 with err naming the field; *out zeroed on
 * error. Unknown versions are an error (the caller starts afresh). */
int sched_index_from_json(json_t *root, sched_index *out, char *err, size_t errlen);

/* The index as JSON (new reference, NULL out of memory). Files in the array order, proposals
 * in slot order. */
json_t *sched_index_to_json(const sched_index *x);

/* Add (or replace, same slot) a proposal record; cids copied; tx_b64 copied (may be NULL).
 * Keeps props sorted by slot. 0 / -1 out of memory. */
int sched_index_put_prop(sched_index *x, uint64_t slot, const char *proposal_id, char *const *cids,
                         size_t ncids, const char *tx_b64);

/* Remove the record of slot (a proposal the chain rejected). 1 removed / 0 none. */
int sched_index_del_prop(sched_index *x, uint64_t slot);

/* The record of slot, or NULL. */
sched_prop *sched_index_prop(sched_index *x, uint64_t slot);

/* Drop proposal records no longer needed: keep every record with slot >= first_open (its
 * slot may still be pending) and the `keep` most recent ones below it; the tx bytes of
 * records below first_open are dropped. Bounded by construction. */
void sched_index_trim(sched_index *x, uint64_t first_open, size_t keep);

/* Rotation (protocol.md §15): a track may not be in a proposal for slot s when it is in one
 * of this curator's K proposals nearest before s (the K records with the highest slots
 * < s). Sets forbidden[i] = 1 for every file i whose CID is in those records, 0 otherwise
 * (files[0..x->nfiles)). */
void sched_forbidden(const sched_index *x, uint64_t slot, size_t k, uint8_t *forbidden);

/* Rotation order of the candidates cand[0..n) (indices into x->files), sorted in place:
 * tracks this curator never proposed first, then by last_slot ascending (longest rested
 * first), ties in library order (the index into files). */
void sched_rotation_sort(const sched_index *x, size_t *cand, size_t n);

/* Pack a playlist (protocol.md §15: fill as much of the slot as possible without exceeding
 * it). dur[0..n): durations (ms) of the candidates in rotation order. Chooses at most
 * max_tracks of them with a total <= cap_ms:
 *   1. exact: the first min(n, 48, max_tracks) candidates are packed optimally (subset sum on
 *      bitsets, ties keep earlier candidates); skipped when its rows would pass 64 MiB
 *      (a cap over ~10 hours);
 *   2. first fit: the remaining candidates in order, each that still fits;
 *   3. improve: repeatedly apply the single best move that raises the total without passing
 *      cap_ms — add an unchosen candidate, or swap a chosen one for a longer unchosen one —
 *      ties to the earliest candidate in rotation order; stop when no move helps (at most 64
 *      rounds).
 * Deterministic; optimal whenever the first 48 candidates can fill the slot. out[0..return)
 * gets the chosen positions (into dur) in ascending order (the playlist order = rotation
 * order); *total the sum. out must hold min(n, max_tracks). 0 tracks on out of memory. */
size_t sched_pack(const uint32_t *dur, size_t n, uint64_t cap_ms, size_t max_tracks, size_t *out,
                  uint64_t *total);

/* The one I/O function here (schedule.c): rebuild x->files from every regular file under the
 * directory root, in sorted order (each directory's entries bytewise; symlinks to files
 * followed, symlinked directories not entered). A file with the same path, size, mtime,
 * ctime and inode as its entry is not read again; any other is hashed (SHA-256), and a known
 * hash keeps its CID, tags and rotation state (a renamed file); new bytes are probed with
 * libsndfile (cli_audio_probe): not audio, or a duration outside protocol.md §4's range, sets
 * skip. Files gone from the library are dropped. Unreadable files are warned about and left
 * out. 0, or -1 with err (unreadable directory, too many files, out of memory). */
int sched_index_scan(sched_index *x, const char *root, char *err, size_t errlen);

#endif
