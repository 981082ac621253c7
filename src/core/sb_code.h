/* sb_code.h — Sleetbubble result codes (protocol.md §4.1, §8). */
#ifndef SB_CODE_H
#define SB_CODE_H

/* Codespace reported with every non-zero code (protocol.md §4.1). */
#define SB_CODESPACE "sleetbubble"

/* Result codes of CheckTx / FinalizeBlock tx results (1–11, protocol.md §4.1) and of queries
 * (12–14, protocol.md §8). The numeric values are consensus-critical. */
typedef enum {
    SB_OK = 0,
    SB_ENCODING = 1,
    SB_SIGNATURE = 2,
    SB_CHAIN_ID = 3,
    SB_SLOT_CLOSED = 4,
    SB_SLOT_TOO_FAR = 5,
    SB_PLAYLIST_INVALID = 6,
    SB_DUPLICATE = 7,
    SB_UNKNOWN_PROPOSAL = 8,
    SB_NOT_VALIDATOR = 9,
    SB_CURATOR_NOT_ALLOWED = 10,
    SB_PROPOSAL_LIMIT = 11,
    SB_HEIGHT_UNAVAILABLE = 12,
    SB_UNKNOWN_PATH = 13,
    SB_NOT_FOUND = 14
} sb_code;

/* Upper-case name of a code ("OK", "ENCODING", ...); "UNKNOWN" for any other value.
 * Returns a static string. */
const char *sb_code_name(int code);

#endif
