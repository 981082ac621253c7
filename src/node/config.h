/* config.h — sleetbubbled's node config file, config/sleetbubble.toml (protocol.md §11).
 *
 * The file is a TOML subset read with libinih:
 *   # comment                      whole-line comments (# or ;)
 *   [section]                      one of abci, ipfs, pin, metrics, web, log, vote; each at most once
 *   key = "string"                 double quotes; escapes \" and \\ only; no control chars
 *   key = 123                      decimal digits only (no sign, no _), range-checked
 *   key = true                     true or false only
 *   key = 1   # comment            a trailing # comment after a value is allowed
 *   key = ["ab..", "cd.."]         an array of quoted hex keys ([vote] curators); it may span
 *                                  lines, one element per line, ending at the line with "]"
 * Leading indentation is ignored. Limits inherited from libinih (Debian build): a line holds at
 * most SB_CONFIG_LINE_MAX bytes, and ";" preceded by a blank starts a comment, so it is
 * rejected inside a quoted string rather than silently cutting the value.
 * Every error (unknown section or key, bad value, duplicate key or section, over-long line,
 * syntax) makes sb_config_load fail with "<file>:<line>: [section] key: reason". */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Longest line libinih accepts (its INI_MAX_LINE 200 minus the NUL), in bytes. */
#define SB_CONFIG_LINE_MAX 199

/* Defaults (protocol.md §10, §11). */
#define SB_CONFIG_DEFAULT_ABCI_LADDR "tcp://127.0.0.1:26658"
#define SB_CONFIG_DEFAULT_MAX_FRAME_BYTES (64u * 1024 * 1024)
#define SB_CONFIG_DEFAULT_MAX_CONNECTIONS 16
#define SB_CONFIG_DEFAULT_SIG_CACHE_ENTRIES 65536
#define SB_CONFIG_DEFAULT_IPFS_API_URL "http://127.0.0.1:5001/api/v0/"
#define SB_CONFIG_DEFAULT_IPFS_GATEWAY_URL "http://127.0.0.1:8080"
#define SB_CONFIG_DEFAULT_IPFS_TIMEOUT_SECONDS 60
#define SB_CONFIG_DEFAULT_PIN_CONCURRENCY 4
#define SB_CONFIG_DEFAULT_PIN_STALL_SECONDS 120
#define SB_CONFIG_DEFAULT_PIN_MAX_TRACK_BYTES (1024ull * 1024 * 1024)
#define SB_CONFIG_DEFAULT_METRICS_LADDR "127.0.0.1:26670"
#define SB_CONFIG_DEFAULT_VOTE_NODE_RPC "http://127.0.0.1:26657"
#define SB_CONFIG_DEFAULT_VOTE_LEAD_SECONDS 60
#define SB_CONFIG_DEFAULT_VOTE_AVAILABLE_TIMEOUT_SECONDS 30
/* Most [vote] curators entries. */
#define SB_CONFIG_VOTE_CURATORS_MAX 64
#define SB_CONFIG_DEFAULT_WEB_LADDR "127.0.0.1:26680"
#define SB_CONFIG_DEFAULT_WEB_STATION_NAME "Sleetbubble"
#define SB_CONFIG_DEFAULT_WEB_STREAM_URL "http://127.0.0.1:8000/sleetbubble.ogg"
#define SB_CONFIG_DEFAULT_WEB_STREAM_URL_MP3 "http://127.0.0.1:8000/sleetbubble.mp3"

/* All node-local settings. Strings are NUL-terminated; sizes are the field capacities
 * including the NUL. */
typedef struct sb_config {
    /* Home directory (not read from the file: --home, else sb_config_default_home()). */
    char home[4096];
    /* The file sb_config_load read last ("" = none), for "file:line: [section] key" messages. */
    char file[4200];
    struct {
        char laddr[512];          /* "tcp://HOST:PORT" or "unix://PATH" CometBFT connects to */
        uint64_t max_frame_bytes; /* largest ABCI frame accepted, bytes, [1024, 1 GiB] */
        uint32_t max_connections; /* ABCI connections served at once, [1, 1024] (protocol.md §2) */
    } abci;
    struct {
        uint32_t sig_cache_entries; /* signature cache entries (sigcache.h), [0, 2^24]; 0 = off */
    } node;
    struct {
        char api_url[512];           /* Kubo RPC base, http(s)://..., e.g. .../api/v0/ */
        char gateway_url[512];       /* Kubo gateway, http(s)://... */
        char auth_header_file[4096]; /* file holding one HTTP header line; "" = none */
        uint32_t timeout_seconds;    /* per Kubo call, [1, 86400] */
    } ipfs;
    struct {
        int enabled;              /* 1 = queue and run pin jobs; 0 = query-only node */
        uint32_t concurrency;     /* parallel pin jobs, [1, 64] */
        uint32_t max_attempts;    /* per job; 0 = retry forever */
        uint64_t keep_slots;      /* slots whose CIDs stay pinned; 0 = keep all; <= INT64_MAX */
        uint32_t stall_seconds;   /* cancel pin/add when Bytes has not grown, [1, 86400] */
        uint64_t max_track_bytes; /* larger tracks fail as too_large, [1, INT64_MAX] */
    } pin;
    struct {
        char laddr[256]; /* "HOST:PORT" for /metrics and /healthz; "" = off */
    } metrics;
    struct {                   /* the vote agent (protocol.md §15); node-local */
        int enabled;           /* 1 = run the agent thread */
        char key_file[4096];   /* vote key: CLI key file or priv_validator_key.json */
        int key_file_line;     /* line of key_file in `file` (0 = not set there) */
        char node_rpc[512];    /* CometBFT RPC base URL */
        uint32_t lead_seconds; /* decide at close(s) - lead, [1, 86400] */
        int policy;            /* 0 follow, 1 priority (sb_agent_policy) */
        size_t n_curators;     /* entries of curators */
        uint8_t curators[SB_CONFIG_VOTE_CURATORS_MAX][32]; /* priority order, no duplicates */
        int require_available;              /* 1 = only vote for content Kubo can fetch */
        uint32_t available_timeout_seconds; /* per dag/stat, [1, 86400] */
        int dry_run;                        /* 1 = decide and log, never sign or send */
        char journal_file[4096];            /* "" = <home>/data/vote-journal */
    } vote;
    struct {                      /* now-playing feed and page (protocol.md §14) */
        char laddr[256];          /* "HOST:PORT" for / and /nowplaying.json; "" = off */
        char station_name[128];   /* shown by the page and the feed */
        char stream_url[512];     /* Ogg mount (players); http(s) URL or "" = none */
        char stream_url_mp3[512]; /* MP3 mount (the page's <audio>); http(s) URL or "" = none */
    } web;
    struct {
        int level; /* SB_LOG_DEBUG..SB_LOG_ERROR (log.h): 0 debug, 1 info, 2 warn, 3 error */
        int json;  /* 1 = format "json", 0 = "plain" */
    } log;
} sb_config;

/* Fill c with the defaults above; home = "" (the caller sets it). Never fails. */
void sb_config_defaults(sb_config *c);

/* Read path over c, which should already hold defaults (keys absent from the file keep their
 * value). Returns 0, or -1 with a NUL-terminated message in err[0..errlen) of the form
 * "<file>:<line>: [section] key: reason" ("<file>: cannot open: <strerror>" for a missing
 * file). On failure c may be partly updated: discard it. */
int sb_config_load(sb_config *c, const char *path, char *err, size_t errlen);

/* Write the commented default config (every key, its default and what it does) to path.
 * Created with O_EXCL (mode 0644: it holds no secrets), so an existing file is never
 * overwritten. Returns 0, or -1 with err (EEXIST: "<path>: already exists, not overwriting").
 * A partly written file is removed. */
int sb_config_write_default(const char *path, char *err, size_t errlen);

/* Home directory default: $SLEETBUBBLE_HOME if set and non-empty, else "$HOME/.sleetbubble".
 * Returns 0, or -1 if neither variable is usable or the result does not fit in out[0..n). */
int sb_config_default_home(char *out, size_t n);

/* Split "HOST:PORT" / "[V6]:PORT" (the [metrics] laddr syntax) into host (brackets removed)
 * and port (0..65535). Returns 0, or -1 with a reason in err. */
int sb_config_split_hostport(const char *addr, char *host, size_t hostlen, uint16_t *port,
                             char *err, size_t errlen);

#endif
