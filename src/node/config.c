/* config.c — see config.h (protocol.md §11). libinih does the line splitting; this file does the
 * TOML-subset values, the key table, validation and error text. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

typedef enum { K_STR, K_U32, K_U64, K_BOOL, K_ENUM, K_HEXLIST } key_kind;

/* Extra check of a string value; 0 ok, -1 with a reason in why. */
typedef int (*str_check_fn)(const char *v, char *why, size_t whylen);

/* One config key: where it lives in sb_config, how to parse it, what it means. */
typedef struct key_def {
    const char *section;
    const char *name;
    key_kind kind;
    size_t off;               /* offset in sb_config */
    size_t size;              /* K_STR: capacity incl. NUL */
    uint64_t min, max;        /* K_U32 / K_U64 inclusive range */
    str_check_fn check;       /* K_STR: optional */
    const char *const *names; /* K_ENUM: NULL-terminated; the index is the stored int */
    const char *help;         /* comment written by sb_config_write_default */
} key_def;

static int check_abci_laddr(const char *v, char *why, size_t whylen);
static int check_url(const char *v, char *why, size_t whylen);
static int check_metrics_laddr(const char *v, char *why, size_t whylen);
static int check_url_or_empty(const char *v, char *why, size_t whylen);

static const char *const level_names[] = { "debug", "info", "warn", "error", NULL };
static const char *const format_names[] = { "plain", "json", NULL };
static const char *const policy_names[] = { "follow", "priority", NULL };

#define FIELD(f) offsetof(sb_config, f), sizeof(((sb_config *)0)->f)

static const key_def keys[] = {
    { "abci", "laddr", K_STR, FIELD(abci.laddr), 0, 0, check_abci_laddr, NULL,
      "Address CometBFT's proxy_app connects to: \"tcp://HOST:PORT\" or \"unix://PATH\"." },
    { "abci", "max_frame_bytes", K_U64, FIELD(abci.max_frame_bytes), 1024, 1024ull * 1024 * 1024,
      NULL, NULL, "Largest ABCI message accepted, in bytes (1024 .. 1073741824)." },
    { "abci", "max_connections", K_U32, FIELD(abci.max_connections), 1, 1024, NULL, NULL,
      "ABCI connections served at once (1 .. 1024; CometBFT opens 4); a further one is\n"
      "# closed at accept with a log line." },
    { "node", "sig_cache_entries", K_U32, FIELD(node.sig_cache_entries), 0, 16777216, NULL, NULL,
      "Signature verifications remembered (node-local, never consensus; about 40 bytes each;\n"
      "# 0 .. 16777216, 0 = off). CheckTx fills it; blocks then verify only what it lacks." },
    { "ipfs", "api_url", K_STR, FIELD(ipfs.api_url), 0, 0, check_url, NULL,
      "Kubo HTTP RPC base URL (http:// or https://)." },
    { "ipfs", "gateway_url", K_STR, FIELD(ipfs.gateway_url), 0, 0, check_url, NULL,
      "Kubo gateway URL, used in playlists' track links (http:// or https://)." },
    { "ipfs", "auth_header_file", K_STR, FIELD(ipfs.auth_header_file), 0, 0, NULL, NULL,
      "File holding one HTTP header sent to Kubo, e.g. \"Authorization: Bearer ...\"\n"
      "# (Kubo API.Authorizations). Read at start, never logged. \"\" = no header." },
    { "ipfs", "timeout_seconds", K_U32, FIELD(ipfs.timeout_seconds), 1, 86400, NULL, NULL,
      "Time limit of one Kubo RPC call, in seconds (1 .. 86400)." },
    { "pin", "enabled", K_BOOL, FIELD(pin.enabled), 0, 1, NULL, NULL,
      "true: pin every slot winner on the local Kubo node. false: query-only node, no pin\n"
      "# jobs (turning it on later back-fills the kept slots)." },
    { "pin", "concurrency", K_U32, FIELD(pin.concurrency), 1, 64, NULL, NULL,
      "Pin jobs run in parallel (1 .. 64)." },
    { "pin", "max_attempts", K_U32, FIELD(pin.max_attempts), 0, UINT32_MAX, NULL, NULL,
      "Attempts per pin job before it is marked failed; 0 = retry forever (backoff 2 s .. 10 "
      "min)." },
    { "pin", "keep_slots", K_U64, FIELD(pin.keep_slots), 0, INT64_MAX, NULL, NULL,
      "Keep the CIDs of the last N finalized slots pinned; 0 = keep everything." },
    { "pin", "stall_seconds", K_U32, FIELD(pin.stall_seconds), 1, 86400, NULL, NULL,
      "Cancel a pin whose transferred bytes have not grown for this many seconds (1 .. 86400)." },
    { "pin", "max_track_bytes", K_U64, FIELD(pin.max_track_bytes), 1, INT64_MAX, NULL, NULL,
      "A track larger than this many bytes fails as too_large." },
    { "metrics", "laddr", K_STR, FIELD(metrics.laddr), 0, 0, check_metrics_laddr, NULL,
      "HOST:PORT serving Prometheus /metrics and /healthz; \"\" = off." },
    { "web", "laddr", K_STR, FIELD(web.laddr), 0, 0, check_metrics_laddr, NULL,
      "HOST:PORT serving the now-playing page / and /nowplaying.json (protocol.md §14);\n"
      "# \"\" = off. Keep it on loopback and publish it through a reverse proxy." },
    { "web", "station_name", K_STR, FIELD(web.station_name), 0, 0, NULL, NULL,
      "Station name shown by the page and the feed." },
    { "web", "stream_url", K_STR, FIELD(web.stream_url), 0, 0, check_url_or_empty, NULL,
      "Ogg Vorbis stream of the programme (Icecast mount) listed by the feed; \"\" = none." },
    { "web", "stream_url_mp3", K_STR, FIELD(web.stream_url_mp3), 0, 0, check_url_or_empty, NULL,
      "MP3 stream the page plays in <audio> (browsers do not follow chained Ogg); \"\" = none." },
    { "log", "level", K_ENUM, FIELD(log.level), 0, 0, NULL, level_names,
      "Lowest level logged: \"debug\", \"info\", \"warn\" or \"error\"." },
    { "log", "format", K_ENUM, FIELD(log.json), 0, 0, NULL, format_names,
      "Log line format on stderr: \"plain\" (ts=... level=... module=... msg=...) or \"json\"." },
    { "vote", "enabled", K_BOOL, FIELD(vote.enabled), 0, 1, NULL, NULL,
      "true: run the vote agent (protocol.md §15), which votes for this validator each slot." },
    { "vote", "key_file", K_STR, FIELD(vote.key_file), 0, 0, NULL, NULL,
      "The vote key: a `sleetbubble keys new` file holding the delegated vote key of genesis\n"
      "# vote_keys (recommended), or priv_validator_key.json when the validator has no delegate." },
    { "vote", "node_rpc", K_STR, FIELD(vote.node_rpc), 0, 0, check_url, NULL,
      "CometBFT RPC the agent reads the chain from and sends its votes to." },
    { "vote", "lead_seconds", K_U32, FIELD(vote.lead_seconds), 1, 86400, NULL, NULL,
      "Decide at the first block at or after close(s) - lead_seconds; must be below the\n"
      "# chain's close_lead_seconds and should be >= 5 block intervals." },
    { "vote", "policy", K_ENUM, FIELD(vote.policy), 0, 0, NULL, policy_names,
      "\"follow\" (most committed power, else a shared hash rule) or \"priority\" (the first\n"
      "# listed curator's proposal, else follow)." },
    { "vote", "curators", K_HEXLIST, FIELD(vote.curators), 0, 0, NULL, NULL,
      "Curator public keys (64 hex digits each) in priority order; may span lines:\n"
      "# curators = [\n#   \"<hex>\",\n#   \"<hex>\",\n# ]" },
    { "vote", "require_available", K_BOOL, FIELD(vote.require_available), 0, 1, NULL, NULL,
      "true: only vote for playlists whose every track the local Kubo resolves (dag/stat)\n"
      "# within available_timeout_seconds and within [pin] max_track_bytes." },
    { "vote", "available_timeout_seconds", K_U32, FIELD(vote.available_timeout_seconds), 1, 86400,
      NULL, NULL, "Time limit of one availability check (Kubo dag/stat), in seconds." },
    { "vote", "dry_run", K_BOOL, FIELD(vote.dry_run), 0, 1, NULL, NULL,
      "true: decide and log, never sign or send a vote." },
    { "vote", "journal_file", K_STR, FIELD(vote.journal_file), 0, 0, NULL, NULL,
      "The agent's decision journal (exactly-once votes); \"\" = <home>/data/vote-journal." },
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const sections[] = { "abci",    "node", "ipfs", "pin",
                                        "metrics", "web",  "log",  "vote" };
#define NSECTIONS (sizeof sections / sizeof sections[0])

/* Parser state shared by the reader and the handler (both called from ini_parse_stream). */
typedef struct cfg_ctx {
    sb_config *c;
    FILE *f;
    char *line; /* getline buffer */
    size_t linecap;
    int lineno;       /* line the reader returned last = line the handler is looking at */
    int read_errno;   /* nonzero if reading failed */
    char section[64]; /* current section as seen by the reader */
    unsigned seen_sections;
    uint32_t seen_keys;
    int err_line; /* line of the first error, 0 = none */
    char err[512];
    int key_line[32]; /* line of each key seen (index in keys[]) */
    /* a multi-line array value (K_HEXLIST): collected by the reader, handed to the handler */
    int in_arr;    /* 1 while between "key = [" and the line with "]" */
    int arr_line;  /* line of "key = [" */
    int arr_ready; /* the handler's value "[@]" means arr */
    char arr_key[64];
    char arr[8192];
    size_t arr_len;
} cfg_ctx;

_Static_assert(NKEYS <= 32, "seen_keys is a 32-bit mask");

/* Record the first error only; later ones are consequences or noise. */
static void cfg_fail(cfg_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cfg_fail(cfg_ctx *x, const char *fmt, ...)
{
    va_list ap;
    if (x->err_line != 0)
        return;
    x->err_line = x->arr_ready ? x->arr_line : x->lineno > 0 ? x->lineno : 1;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
}

static int section_index(const char *s)
{
    size_t i;
    for (i = 0; i < NSECTIONS; i++)
        if (strcmp(s, sections[i]) == 0)
            return (int)i;
    return -1;
}

/* Known keys of a section, comma-separated, into out. */
static void section_keys(const char *section, char *out, size_t n)
{
    size_t i, len = 0;
    out[0] = '\0';
    for (i = 0; i < NKEYS; i++) {
        int r;
        if (strcmp(keys[i].section, section) != 0)
            continue;
        r = snprintf(out + len, n - len, "%s%s", len ? ", " : "", keys[i].name);
        if (r < 0 || (size_t)r >= n - len)
            return;
        len += (size_t)r;
    }
}

/* ---- values ------------------------------------------------------------------------------ */

/* Parse a "quoted string" (escapes \" and \\) followed by optional blanks and # comment into
 * out[0..cap). 0, or -1 with why. */
static int parse_string(const char *v, char *out, size_t cap, char *why, size_t whylen)
{
    const char *p;
    size_t n = 0;
    if (*v != '"') {
        if (*v == '\'')
            snprintf(why, whylen, "single-quoted strings are not supported, use \"...\"");
        else
            snprintf(why, whylen, "expected a \"quoted string\"");
        return -1;
    }
    p = v + 1;
    for (;;) {
        char c = *p;
        if (c == '\0') {
            snprintf(why, whylen, "unterminated string (no closing \")");
            return -1;
        }
        if (c == '"') {
            p++;
            break;
        }
        if (c == '\\') {
            char e = p[1];
            if (e == '\0') {
                snprintf(why, whylen, "unterminated string (no closing \")");
                return -1;
            }
            if (e != '"' && e != '\\') {
                if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7f)
                    snprintf(why, whylen, "unsupported escape (only \\\" and \\\\ are allowed)");
                else
                    snprintf(why, whylen,
                             "unsupported escape \\%c (only \\\" and \\\\ are allowed)", e);
                return -1;
            }
            c = e;
            p += 2;
        } else if (((unsigned char)c < 0x20 && c != '\t') || (unsigned char)c == 0x7f) {
            snprintf(why, whylen, "control character 0x%02x in string", (unsigned char)c);
            return -1;
        } else {
            p++;
        }
        if (n + 1 >= cap) {
            snprintf(why, whylen, "value longer than the %zu-byte limit", cap - 1);
            return -1;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' && *p != '#') {
        snprintf(why, whylen, "unexpected text after the closing quote");
        return -1;
    }
    return 0;
}

/* Copy a bare (unquoted) value into tok, dropping a trailing # comment and blanks. */
static void bare_token(const char *v, char *tok, size_t n)
{
    size_t len = strcspn(v, "#");
    if (len >= n)
        len = n - 1;
    memcpy(tok, v, len);
    while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    tok[len] = '\0';
}

static int parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *why,
                      size_t whylen)
{
    char tok[256], *end;
    unsigned long long x;
    bare_token(v, tok, sizeof tok);
    if (tok[0] == '\0') {
        snprintf(why, whylen, "missing value (expected an integer)");
        return -1;
    }
    if (tok[0] == '"') {
        snprintf(why, whylen, "expected an integer, not a string");
        return -1;
    }
    if (tok[0] < '0' || tok[0] > '9') {
        snprintf(why, whylen, "not a decimal integer: %.40s", tok);
        return -1;
    }
    errno = 0;
    x = strtoull(tok, &end, 10);
    if (*end != '\0') {
        snprintf(why, whylen, "not a decimal integer: %.40s", tok);
        return -1;
    }
    if (tok[0] == '0' && tok[1] != '\0') {
        snprintf(why, whylen, "leading zeros are not allowed: %.40s", tok);
        return -1;
    }
    if (errno == ERANGE || x < min || x > max) {
        snprintf(why, whylen, "%.40s outside [%llu, %llu]", tok, (unsigned long long)min,
                 (unsigned long long)max);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_bool(const char *v, int *out, char *why, size_t whylen)
{
    char tok[256];
    bare_token(v, tok, sizeof tok);
    if (strcmp(tok, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(tok, "false") == 0) {
        *out = 0;
        return 0;
    }
    snprintf(why, whylen, "expected true or false, got %.40s", tok[0] ? tok : "nothing");
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse ["<64 hex>", ...] (trailing comma allowed, then optional # comment) into
 * out[0..max) with *n entries; duplicates refused. 0, or -1 with why. */
static int parse_hexlist(const char *v, uint8_t (*out)[32], size_t max, size_t *n, char *why,
                         size_t whylen)
{
    const char *p = v;
    size_t k = 0;
#define SKIP_BLANKS()               \
    while (*p == ' ' || *p == '\t') \
    p++
    SKIP_BLANKS();
    if (*p != '[') {
        snprintf(why, whylen, "expected an array [\"<hex key>\", ...]");
        return -1;
    }
    p++;
    for (;;) {
        SKIP_BLANKS();
        if (*p == ']')
            break;
        if (*p != '"') {
            snprintf(why, whylen, "element %zu: expected a \"quoted\" 64-digit hex key", k);
            return -1;
        }
        p++;
        if (k >= max) {
            snprintf(why, whylen, "more than %zu keys", max);
            return -1;
        }
        for (int i = 0; i < 32; i++) {
            int hi = hexval(p[2 * i]), lo = hi < 0 ? -1 : hexval(p[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                snprintf(why, whylen, "element %zu: not 64 hex digits", k);
                return -1;
            }
            out[k][i] = (uint8_t)(hi << 4 | lo);
        }
        p += 64;
        if (*p != '"') {
            snprintf(why, whylen, "element %zu: not 64 hex digits", k);
            return -1;
        }
        p++;
        for (size_t j = 0; j < k; j++)
            if (memcmp(out[j], out[k], 32) == 0) {
                snprintf(why, whylen, "element %zu: listed twice (also element %zu)", k, j);
                return -1;
            }
        k++;
        SKIP_BLANKS();
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != ']') {
            snprintf(why, whylen, "element %zu: expected \",\" or \"]\"", k - 1);
            return -1;
        }
    }
    p++;
    SKIP_BLANKS();
#undef SKIP_BLANKS
    if (*p != '\0' && *p != '#') {
        snprintf(why, whylen, "unexpected text after \"]\"");
        return -1;
    }
    *n = k;
    return 0;
}

static int check_abci_laddr(const char *v, char *why, size_t whylen)
{
    if (strncmp(v, "tcp://", 6) == 0) {
        char host[256];
        uint16_t port;
        char e[128];
        if (sb_config_split_hostport(v + 6, host, sizeof host, &port, e, sizeof e) != 0) {
            snprintf(why, whylen, "tcp address: %s", e);
            return -1;
        }
        return 0;
    }
    if (strncmp(v, "unix://", 7) == 0) {
        if (v[7] == '\0') {
            snprintf(why, whylen, "unix:// needs a socket path");
            return -1;
        }
        return 0;
    }
    snprintf(why, whylen, "must start with tcp:// or unix://");
    return -1;
}

static int check_url(const char *v, char *why, size_t whylen)
{
    size_t skip = 0;
    if (strncmp(v, "http://", 7) == 0)
        skip = 7;
    else if (strncmp(v, "https://", 8) == 0)
        skip = 8;
    if (skip == 0 || v[skip] == '\0' || v[skip] == '/') {
        snprintf(why, whylen, "must be an http:// or https:// URL with a host");
        return -1;
    }
    return 0;
}

static int check_url_or_empty(const char *v, char *why, size_t whylen)
{
    return v[0] == '\0' ? 0 : check_url(v, why, whylen);
}

static int check_metrics_laddr(const char *v, char *why, size_t whylen)
{
    char host[256];
    uint16_t port;
    if (v[0] == '\0')
        return 0; /* off */
    return sb_config_split_hostport(v, host, sizeof host, &port, why, whylen);
}

int sb_config_split_hostport(const char *addr, char *host, size_t hostlen, uint16_t *port,
                             char *err, size_t errlen)
{
    const char *hs, *he, *ps, *p;
    unsigned long v = 0;
    size_t hl;
    if (addr[0] == '[') {
        hs = addr + 1;
        he = strchr(hs, ']');
        if (he == NULL || he[1] != ':') {
            snprintf(err, errlen, "expected [IPv6]:PORT");
            return -1;
        }
        ps = he + 2;
    } else {
        he = strrchr(addr, ':');
        if (he == NULL) {
            snprintf(err, errlen, "expected HOST:PORT");
            return -1;
        }
        hs = addr;
        if (memchr(hs, ':', (size_t)(he - hs)) != NULL) {
            snprintf(err, errlen, "IPv6 host must be in brackets: [HOST]:PORT");
            return -1;
        }
        ps = he + 1;
    }
    hl = (size_t)(he - hs);
    if (hl == 0) {
        snprintf(err, errlen, "empty host in HOST:PORT");
        return -1;
    }
    if (hl >= hostlen) {
        snprintf(err, errlen, "host longer than %zu bytes", hostlen - 1);
        return -1;
    }
    if (*ps == '\0') {
        snprintf(err, errlen, "missing port in HOST:PORT");
        return -1;
    }
    for (p = ps; *p; p++) {
        if (*p < '0' || *p > '9' || p - ps >= 5) {
            snprintf(err, errlen, "port must be a number in [0, 65535]");
            return -1;
        }
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535) {
        snprintf(err, errlen, "port must be a number in [0, 65535]");
        return -1;
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return 0;
}

/* ---- libinih callbacks ------------------------------------------------------------------- */

/* Append text (up to a # comment outside quotes) to the collected array; 1 if it held "]". */
static int arr_append(cfg_ctx *x, const char *t)
{
    int in_str = 0, closed = 0;
    for (const char *p = t; *p; p++) {
        if (!in_str && *p == '#')
            break;
        if (*p == '"')
            in_str = !in_str;
        if (!in_str && *p == ']')
            closed = 1;
        if (x->arr_len + 1 >= sizeof x->arr) {
            cfg_fail(x, "[%s] %s: array longer than %zu bytes", x->section, x->arr_key,
                     sizeof x->arr - 1);
            return 1;
        }
        x->arr[x->arr_len++] = *p;
        x->arr[x->arr_len] = '\0';
        if (closed)
            break;
    }
    if (x->arr_len + 1 < sizeof x->arr) {
        x->arr[x->arr_len++] = ' ';
        x->arr[x->arr_len] = '\0';
    }
    return closed;
}

/* Line s (blanks stripped) is "key = [..." whose "]" is not on this line: start collecting a
 * multi-line array (the line reaches libinih as a blank line, so its line count stays
 * right). Returns 1 when collecting started. */
static int arr_open(cfg_ctx *x, const char *s)
{
    size_t kl = strcspn(s, "=");
    const char *v;
    if (s[kl] != '=')
        return 0;
    v = s + kl + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v != '[')
        return 0;
    x->arr_len = 0;
    x->arr[0] = '\0';
    while (kl > 0 && (s[kl - 1] == ' ' || s[kl - 1] == '\t'))
        kl--;
    snprintf(x->arr_key, sizeof x->arr_key, "%.*s", (int)(kl < 63 ? kl : 63), s);
    if (arr_append(x, v))
        return 0; /* closed on its own line: libinih gets it as it is */
    x->in_arr = 1;
    x->arr_line = x->lineno;
    return 1;
}

/* A line inside a multi-line array: blank for libinih until the "]" line, which becomes
 * "key = [@]" (the handler then reads x->arr). */
static char *arr_continue(cfg_ctx *x, const char *s, char *str, int num)
{
    if (!arr_append(x, s)) {
        str[0] = '\0';
        return str;
    }
    x->in_arr = 0;
    x->arr_ready = 1;
    snprintf(str, (size_t)num, "%s = [@]", x->arr_key);
    return str;
}

/* A line longer than libinih's buffer (num bytes with the NUL): name its key when it has one. */
static void fail_overlong(cfg_ctx *x, const char *s, size_t len, int num)
{
    size_t kl = strcspn(s, "=");
    while (kl > 0 && (s[kl - 1] == ' ' || s[kl - 1] == '\t'))
        kl--;
    if (s[0] != '[' && s[0] != '#' && s[0] != ';' && strchr(s, '=') != NULL && kl < 64)
        cfg_fail(x, "[%s] %.*s: line is %zu bytes, over the %d-byte limit of the config parser",
                 x->section, (int)kl, s, len, num - 1);
    else
        cfg_fail(x, "line is %zu bytes, over the %d-byte limit of the config parser", len, num - 1);
}

/* A "[section]" line s: remember the section; unknown, repeated and trailing text fail. */
static void check_section_header(cfg_ctx *x, const char *s)
{
    char name[64];
    const char *end = strchr(s, ']'), *p;
    size_t nl;
    if (end == NULL)
        return; /* a missing ']' is reported by libinih as a syntax error */
    nl = (size_t)(end - s - 1);
    if (nl >= sizeof name)
        nl = sizeof name - 1;
    memcpy(name, s + 1, nl);
    name[nl] = '\0';
    snprintf(x->section, sizeof x->section, "%s", name);
    int si = section_index(name);
    if (si < 0) {
        cfg_fail(x, "[%s]: unknown section (known: abci, ipfs, pin, metrics, web, log, vote)",
                 name);
    } else if (x->seen_sections & (1u << si)) {
        cfg_fail(x, "[%s]: duplicate section", name);
    } else {
        x->seen_sections |= 1u << si;
    }
    p = end + 1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' && *p != '#' && *p != ';')
        cfg_fail(x, "[%s]: unexpected text after the section header", name);
}

/* A key line s: what libinih would take silently — "key: value", and ";" after a blank
 * inside a quoted string (libinih reads a comment there) — fails. */
static void check_key_line(cfg_ctx *x, const char *s)
{
    const char *p;
    int in_str = 0;
    size_t kl = strcspn(s, "=:");
    if (s[kl] == ':') { /* libinih also accepts "key: value"; TOML does not */
        while (kl > 0 && (s[kl - 1] == ' ' || s[kl - 1] == '\t'))
            kl--;
        cfg_fail(x, "[%s] %.*s: expected \"=\" after the key", x->section, (int)kl, s);
    }
    for (p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1] != '\0') {
                p++;
            } else if (*p == '"') {
                in_str = 0;
            } else if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t')) {
                kl = strcspn(s, "=");
                while (kl > 0 && (s[kl - 1] == ' ' || s[kl - 1] == '\t'))
                    kl--;
                cfg_fail(x,
                         "[%s] %.*s: \";\" after a blank inside a quoted string is not supported"
                         " (the INI parser reads it as a comment)",
                         x->section, (int)kl, s);
                break;
            }
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == '#') {
            break;
        }
    }
}

/* fgets-style reader for ini_parse_stream: returns one logical line at a time with leading
 * blanks removed (so libinih's multi-line continuation never triggers), counts lines, and
 * checks what libinih would get wrong silently: over-long lines, NUL bytes, ";" comments
 * inside quoted strings, unknown and repeated [section] headers. */
static char *cfg_reader(char *str, int num, void *stream)
{
    cfg_ctx *x = stream;
    ssize_t got;
    size_t len;
    char *s;

    errno = 0;
    got = getline(&x->line, &x->linecap, x->f);
    if (got < 0) {
        if (ferror(x->f))
            x->read_errno = errno ? errno : EIO;
        if (x->in_arr) {
            x->lineno = x->arr_line;
            cfg_fail(x, "[%s] %s: array not closed with \"]\"", x->section, x->arr_key);
        }
        return NULL;
    }
    x->lineno++;
    len = (size_t)got;
    if (memchr(x->line, '\0', len) != NULL) {
        cfg_fail(x, "NUL byte in line");
        str[0] = '\0';
        return str;
    }
    while (len > 0 && (x->line[len - 1] == '\n' || x->line[len - 1] == '\r'))
        len--;
    x->line[len] = '\0';
    s = x->line;
    if (x->lineno == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3; /* UTF-8 BOM */
    while (*s == ' ' || *s == '\t')
        s++;
    len = strlen(s);
    if (num < 2 || len > (size_t)num - 1) {
        fail_overlong(x, s, len, num);
        str[0] = '\0';
        return str;
    }

    if (x->in_arr)
        return arr_continue(x, s, str, num);
    if (s[0] == '[') {
        check_section_header(x, s);
    } else if (s[0] != '#' && s[0] != ';') {
        check_key_line(x, s);
        if (arr_open(x, s)) {
            str[0] = '\0';
            return str;
        }
    }
    memcpy(str, s, len + 1);
    return str;
}

/* The key [section] name, marked seen at the current line. NULL after recording why not:
 * unknown section or key, or a duplicate. */
static const key_def *claim_key(cfg_ctx *x, const char *section, const char *name)
{
    char known[256];
    size_t i;
    if (section_index(section) < 0) {
        if (section[0] == '\0')
            cfg_fail(x, "%s: key outside any [section]", name);
        else
            cfg_fail(x, "[%s] %s: unknown section", section, name);
        return NULL;
    }
    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            break;
    if (i == NKEYS) {
        section_keys(section, known, sizeof known);
        cfg_fail(x, "[%s] %s: unknown key (known: %s)", section, name, known);
        return NULL;
    }
    if (x->seen_keys & (1u << i)) {
        cfg_fail(x, "[%s] %s: duplicate key", section, name);
        return NULL;
    }
    x->seen_keys |= 1u << i;
    x->key_line[i] = x->arr_ready ? x->arr_line : x->lineno;
    return &keys[i];
}

/* A K_ENUM value: its index into k->names into *idx. 0 / -1 with the choices in why. */
static int parse_enum(const key_def *k, const char *value, int *idx, char *why, size_t whylen)
{
    char buf[64];
    int i;
    if (parse_string(value, buf, sizeof buf, why, whylen) != 0)
        return -1;
    for (i = 0; k->names[i] != NULL; i++)
        if (strcmp(buf, k->names[i]) == 0)
            break;
    if (k->names[i] == NULL) {
        size_t len = 0;
        int r = snprintf(why, whylen, "\"%.32s\" is not one of", buf);
        for (int j = 0; k->names[j] != NULL && r >= 0 && (size_t)r < whylen - len; j++) {
            len += (size_t)r;
            r = snprintf(why + len, whylen - len, "%s %s", j ? "," : "", k->names[j]);
        }
        return -1;
    }
    *idx = i;
    return 0;
}

/* Parse value as k says into its field of x->c. 0 / -1 with the reason in why. */
static int set_value(cfg_ctx *x, const key_def *k, const char *value, char *why, size_t whylen)
{
    char *field = (char *)x->c + k->off;
    switch (k->kind) {
    case K_STR: {
        char buf[4096];
        if (parse_string(value, buf, k->size, why, whylen) != 0)
            return -1;
        if (k->check && k->check(buf, why, whylen) != 0)
            return -1;
        memcpy(field, buf, strlen(buf) + 1);
        break;
    }
    case K_U32: {
        uint64_t v;
        uint32_t v32;
        if (parse_uint(value, k->min, k->max, &v, why, whylen) != 0)
            return -1;
        v32 = (uint32_t)v;
        memcpy(field, &v32, sizeof v32);
        break;
    }
    case K_U64: {
        uint64_t v;
        if (parse_uint(value, k->min, k->max, &v, why, whylen) != 0)
            return -1;
        memcpy(field, &v, sizeof v);
        break;
    }
    case K_BOOL: {
        int b;
        if (parse_bool(value, &b, why, whylen) != 0)
            return -1;
        memcpy(field, &b, sizeof b);
        break;
    }
    case K_ENUM: {
        int idx;
        if (parse_enum(k, value, &idx, why, whylen) != 0)
            return -1;
        memcpy(field, &idx, sizeof idx);
        break;
    }
    case K_HEXLIST: { /* only [vote] curators */
        const char *text = value;
        if (x->arr_ready && strcmp(value, "[@]") == 0)
            text = x->arr;
        if (parse_hexlist(text, x->c->vote.curators, SB_CONFIG_VOTE_CURATORS_MAX,
                          &x->c->vote.n_curators, why, whylen) != 0)
            return -1;
        x->arr_ready = 0;
        break;
    }
    }
    return 0;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    cfg_ctx *x = user;
    char why[256];
    const key_def *k = claim_key(x, section, name);
    if (k == NULL)
        return 0;
    if (set_value(x, k, value, why, sizeof why) != 0) {
        cfg_fail(x, "[%s] %s: %s", section, name, why);
        x->arr_ready = 0;
        return 0;
    }
    return 1;
}

/* The line of [section] name in the file read, 0 when the file did not set it. */
static int key_line_of(const cfg_ctx *x, const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return x->key_line[i];
    return 0;
}

/* ---- public ------------------------------------------------------------------------------ */

void sb_config_defaults(sb_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->abci.laddr, sizeof c->abci.laddr, "%s", SB_CONFIG_DEFAULT_ABCI_LADDR);
    c->abci.max_frame_bytes = SB_CONFIG_DEFAULT_MAX_FRAME_BYTES;
    c->abci.max_connections = SB_CONFIG_DEFAULT_MAX_CONNECTIONS;
    c->node.sig_cache_entries = SB_CONFIG_DEFAULT_SIG_CACHE_ENTRIES;
    snprintf(c->ipfs.api_url, sizeof c->ipfs.api_url, "%s", SB_CONFIG_DEFAULT_IPFS_API_URL);
    snprintf(c->ipfs.gateway_url, sizeof c->ipfs.gateway_url, "%s",
             SB_CONFIG_DEFAULT_IPFS_GATEWAY_URL);
    c->ipfs.timeout_seconds = SB_CONFIG_DEFAULT_IPFS_TIMEOUT_SECONDS;
    c->pin.enabled = 1;
    c->pin.concurrency = SB_CONFIG_DEFAULT_PIN_CONCURRENCY;
    c->pin.max_attempts = 0;
    c->pin.keep_slots = 0;
    c->pin.stall_seconds = SB_CONFIG_DEFAULT_PIN_STALL_SECONDS;
    c->pin.max_track_bytes = SB_CONFIG_DEFAULT_PIN_MAX_TRACK_BYTES;
    snprintf(c->metrics.laddr, sizeof c->metrics.laddr, "%s", SB_CONFIG_DEFAULT_METRICS_LADDR);
    c->vote.enabled = 0;
    snprintf(c->vote.node_rpc, sizeof c->vote.node_rpc, "%s", SB_CONFIG_DEFAULT_VOTE_NODE_RPC);
    c->vote.lead_seconds = SB_CONFIG_DEFAULT_VOTE_LEAD_SECONDS;
    c->vote.require_available = 1;
    c->vote.available_timeout_seconds = SB_CONFIG_DEFAULT_VOTE_AVAILABLE_TIMEOUT_SECONDS;
    snprintf(c->web.laddr, sizeof c->web.laddr, "%s", SB_CONFIG_DEFAULT_WEB_LADDR);
    snprintf(c->web.station_name, sizeof c->web.station_name, "%s",
             SB_CONFIG_DEFAULT_WEB_STATION_NAME);
    snprintf(c->web.stream_url, sizeof c->web.stream_url, "%s", SB_CONFIG_DEFAULT_WEB_STREAM_URL);
    snprintf(c->web.stream_url_mp3, sizeof c->web.stream_url_mp3, "%s",
             SB_CONFIG_DEFAULT_WEB_STREAM_URL_MP3);
    c->log.level = SB_LOG_INFO;
    c->log.json = 0;
}

int sb_config_load(sb_config *c, const char *path, char *err, size_t errlen)
{
    cfg_ctx x;
    int rc = -1, r;

    memset(&x, 0, sizeof x);
    x.c = c;
    x.f = fopen(path, "re");
    if (x.f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    r = ini_parse_stream(cfg_reader, &x, cfg_handler, &x);
    if (x.read_errno != 0) {
        snprintf(err, errlen, "%s:%d: read error: %s", path, x.lineno, strerror(x.read_errno));
        goto done;
    }
    if (x.err_line != 0 && (r <= 0 || x.err_line <= r)) {
        snprintf(err, errlen, "%s:%d: %s", path, x.err_line, x.err);
        goto done;
    }
    if (r > 0) {
        snprintf(err, errlen, "%s:%d: syntax error: expected [section], key = value or a comment",
                 path, r);
        goto done;
    }
    if (r < 0) {
        snprintf(err, errlen, "%s: config parser failed (%d)", path, r);
        goto done;
    }
    if (c->vote.enabled && c->vote.key_file[0] == '\0') { /* the line of "enabled = true" */
        int line = key_line_of(&x, "vote", "enabled");
        if (line == 0)
            line = 1;
        snprintf(err, errlen, "%s:%d: [vote] key_file: required when enabled = true", path, line);
        goto done;
    }
    snprintf(c->file, sizeof c->file, "%s", path);
    c->vote.key_file_line = key_line_of(&x, "vote", "key_file");
    rc = 0;
done:
    free(x.line);
    fclose(x.f);
    return rc;
}

/* Append a value as TOML text to b[*len..cap). */
static void put_text(char *b, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put_text(char *b, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int r;
    if (*len >= cap)
        return;
    va_start(ap, fmt);
    r = vsnprintf(b + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    *len += (size_t)r; /* may exceed cap: detected by the caller */
}

/* Render the default config file into b[0..cap); returns its length (>= cap if too small). */
static size_t render_default(char *b, size_t cap)
{
    sb_config d;
    size_t len = 0, i;
    const char *prev = "";

    sb_config_defaults(&d);
    put_text(
        b, cap, &len,
        "# sleetbubbled node configuration (protocol.md §11), written by `sleetbubbled init`.\n"
        "# Format: a TOML subset: [section], key = value, \"quoted strings\" (escapes \\\" "
        "and \\\\\n"
        "# only), decimal integers, true/false, # comments; at most %d bytes per line.\n"
        "# A key left out keeps the default shown here. Unknown keys are errors.\n",
        SB_CONFIG_LINE_MAX);
    for (i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        const char *field = (const char *)&d + k->off;
        if (strcmp(prev, k->section) != 0) {
            put_text(b, cap, &len, "\n[%s]\n", k->section);
            prev = k->section;
        }
        put_text(b, cap, &len, "# %s\n%s = ", k->help, k->name);
        switch (k->kind) {
        case K_STR: {
            const char *s;
            put_text(b, cap, &len, "\"");
            for (s = field; *s; s++)
                put_text(b, cap, &len, "%s%c", (*s == '"' || *s == '\\') ? "\\" : "", *s);
            put_text(b, cap, &len, "\"\n");
            break;
        }
        case K_U32: {
            uint32_t v;
            memcpy(&v, field, sizeof v);
            put_text(b, cap, &len, "%lu\n", (unsigned long)v);
            break;
        }
        case K_U64: {
            uint64_t v;
            memcpy(&v, field, sizeof v);
            put_text(b, cap, &len, "%llu\n", (unsigned long long)v);
            break;
        }
        case K_BOOL: {
            int v;
            memcpy(&v, field, sizeof v);
            put_text(b, cap, &len, "%s\n", v ? "true" : "false");
            break;
        }
        case K_ENUM: {
            int v;
            memcpy(&v, field, sizeof v);
            put_text(b, cap, &len, "\"%s\"\n", k->names[v]);
            break;
        }
        case K_HEXLIST: put_text(b, cap, &len, "[]\n"); break;
        }
    }
    return len;
}

int sb_config_write_default(const char *path, char *err, size_t errlen)
{
    char text[16384];
    size_t len = render_default(text, sizeof text), off = 0;
    int fd, rc = -1;

    if (len >= sizeof text) { /* programming error: the template outgrew the buffer */
        snprintf(err, errlen, "%s: default config too large (%zu bytes)", path, len);
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            snprintf(err, errlen, "%s: already exists, not overwriting", path);
        else
            snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: write: %s", path, strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        snprintf(err, errlen, "%s: fsync: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: close: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(path);
    return rc;
}

int sb_config_default_home(char *out, size_t n)
{
    const char *h = getenv("SLEETBUBBLE_HOME");
    int r;
    if (h != NULL && h[0] != '\0') {
        r = snprintf(out, n, "%s", h);
    } else {
        h = getenv("HOME");
        if (h == NULL || h[0] == '\0')
            return -1;
        r = snprintf(out, n, "%s/.sleetbubble", h);
    }
    return (r < 0 || (size_t)r >= n) ? -1 : 0;
}
