/* rpcc.h - results shared by the client pieces in src/rpcc/ (CometBFT JSON-RPC, HTTP, the Kubo
 * RPC calls of curators): the `sleetbubble` CLI (src/cli) and sleetbubbled's vote agent
 * (src/node/autovote.c) both call them. The CLI uses these values as its exit statuses
 * (protocol.md §12). */
#ifndef SB_RPCC_H
#define SB_RPCC_H

enum {
    SB_RPCC_OK = 0,
    SB_RPCC_REJECTED = 1,   /* the chain answered with a non-zero code */
    SB_RPCC_USAGE = 2,      /* bad arguments or bad input */
    SB_RPCC_UNREACHABLE = 3 /* CometBFT RPC or Kubo RPC unreachable, or a garbled reply */
};

#endif
