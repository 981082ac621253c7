/* sb_code.c — names of the result codes (protocol.md §4.1, §8). */
#include "sb_code.h"

const char *sb_code_name(int code)
{
    static const char *const names[] = { "OK",
                                         "ENCODING",
                                         "SIGNATURE",
                                         "CHAIN_ID",
                                         "SLOT_CLOSED",
                                         "SLOT_TOO_FAR",
                                         "PLAYLIST_INVALID",
                                         "DUPLICATE",
                                         "UNKNOWN_PROPOSAL",
                                         "NOT_VALIDATOR",
                                         "CURATOR_NOT_ALLOWED",
                                         "PROPOSAL_LIMIT",
                                         "HEIGHT_UNAVAILABLE",
                                         "UNKNOWN_PATH",
                                         "NOT_FOUND" };
    if (code < 0 || (unsigned)code >= sizeof names / sizeof names[0])
        return "UNKNOWN";
    return names[code];
}
