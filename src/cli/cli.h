/* cli.h — the `sleetbubble` command-line client: shared context, exit statuses and the
 * command entry points (protocol.md §12). Each command lives in its own file and returns an exit
 * status; main.c parses the arguments and dispatches. */
#ifndef SB_CLI_H
#define SB_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "rpcc.h"

/* Exit statuses (protocol.md §12): the client pieces' results (rpcc.h), so a call's result is
 * the command's exit status. */
enum {
    CLI_EXIT_OK = SB_RPCC_OK,
    CLI_EXIT_REJECTED = SB_RPCC_REJECTED, /* the chain answered with a non-zero code (printed) */
    CLI_EXIT_USAGE = SB_RPCC_USAGE,       /* bad arguments or bad input files */
    CLI_EXIT_UNREACHABLE =
        SB_RPCC_UNREACHABLE /* CometBFT RPC or Kubo RPC unreachable, or garbled */
};

/* Defaults of the global options (protocol.md §12). */
#define CLI_DEFAULT_NODE "http://127.0.0.1:26657"
#define CLI_DEFAULT_IPFS "http://127.0.0.1:5001"
#define CLI_DEFAULT_GATEWAY "http://127.0.0.1:8080"
#define CLI_HOME_ENV "SLEETBUBBLE_CLI_HOME"
#define CLI_HOME_DEFAULT_DIR ".sleetbubble-cli"

/* Everything the command line gave. All strings are borrowed from argv (or static
 * defaults), except home which is built into the array. NULL = option not given. */
typedef struct cli_ctx {
    const char *node;    /* CometBFT RPC base URL, no trailing slash needed */
    const char *ipfs;    /* Kubo RPC base URL (…/api/v0 is appended) */
    const char *gateway; /* Kubo gateway base URL for tune */
    char home[4096];     /* keys live in home/keys/NAME.json */
    int json;            /* --output json */
    long timeout_s;      /* per HTTP request (--timeout, default 30 s) */
    /* command options */
    const char *slot, *playlist, *key, *note, *proposal, *validator_key, *vote_key, *validator,
        *out_file;
    int skip_check;
    const char *library, *sched_slots, *no_repeat; /* schedule */
    int dry_run;
    int now;            /* tune --now */
    const char *socket; /* onair: Liquidsoap's server socket (--socket) */
    char **args;        /* positional arguments after the command word(s) */
    size_t nargs;
} cli_ctx;

/* Run the client with argv[0..argc) (argv[0] is the program name); returns the exit status.
 * Initialises and cleans up libcurl itself. Usable from tests. */
int cli_main(int argc, char **argv);

/* Print "sleetbubble: error: <msg>" to stderr. */
__attribute__((format(printf, 1, 2))) void cli_errf(const char *fmt, ...);
/* Print "sleetbubble: warning: <msg>" to stderr. */
__attribute__((format(printf, 1, 2))) void cli_warnf(const char *fmt, ...);
/* Print a chain rejection: text mode "CODE_NAME (code N): log" on stderr; json mode
 * {"code":N,"code_name":…,"codespace":…,"log":…} on stdout. Returns CLI_EXIT_REJECTED. */
int cli_print_rejection(const cli_ctx *c, int code, const char *codespace, const char *log);

/* Print v (reference stolen; NULL prints an out-of-memory error) on stdout: indented with
 * sorted keys in text mode, compact in json mode. */
struct json_t;
void cli_print_json(const cli_ctx *c, struct json_t *v);

/* Parse a decimal uint64 (digits only, no sign or spaces). 0 / -1. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Read a whole file ("-" = stdin) into a NUL-terminated malloc'd buffer (caller frees) of
 * at most max bytes. 0, or -1 with a message naming the file in err. */
int cli_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

/* Write data[0..len) to path atomically (path.tmp.PID, fsync, rename), mode 0644; "-" writes
 * to stdout. 0 / -1 + err. */
int cli_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Commands (one file each). Each returns an exit status and prints its own messages. */
int cli_cmd_keys(cli_ctx *c);    /* keys.c:   keys new|show NAME */
int cli_cmd_tracks(cli_ctx *c);  /* tracks.c: tracks add FILE… [-o FILE] */
int cli_cmd_propose(cli_ctx *c); /* propose.c */
int cli_cmd_vote(cli_ctx *c);    /* vote.c */
int cli_cmd_tune(cli_ctx *c);    /* tune.c */
int cli_cmd_query(cli_ctx *c);   /* status.c: query params|slot N|winner N|… */
/* The abci_query path of `query` arguments args[0..nargs) into path[pathlen] ("winner 7" ->
 * "/winner/7"; proposal ids lowercased). 0, or -1 after printing a usage error. */
int cli_query_path(char **args, size_t nargs, char *path, size_t pathlen);
int cli_cmd_status(cli_ctx *c);   /* status.c */
int cli_cmd_schedule(cli_ctx *c); /* schedule.c: the curator's schedule (protocol.md §15) */
int cli_cmd_onair(cli_ctx *c);    /* onair.c: drive Liquidsoap from the programme (§14) */

#endif
