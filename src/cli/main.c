/* main.c — `sleetbubble` argument parsing, dispatch and the small helpers every command
 * shares (protocol.md §12). Options may come before or after the command words; `--opt value` and
 * `--opt=value` both work; `--` ends the options. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "sb_code.h"

#ifndef SLEETBUBBLE_VERSION
#define SLEETBUBBLE_VERSION "0"
#endif

/* ---- shared helpers (cli.h) ---- */

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
    fprintf(stderr, "sleetbubble: %s: ", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_errf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("error", fmt, ap);
    va_end(ap);
}

void cli_warnf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning", fmt, ap);
    va_end(ap);
}

void cli_print_json(const cli_ctx *c, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_SORT_KEYS |
                                    (c->json ? JSON_COMPACT : JSON_INDENT(2)))
                : NULL;
    if (s)
        printf("%s\n", s);
    else
        cli_errf("out of memory");
    free(s);
    json_decref(v);
}

int cli_print_rejection(const cli_ctx *c, int code, const char *codespace, const char *log)
{
    const char *name = codespace && *codespace && strcmp(codespace, SB_CODESPACE) != 0
                           ? "UNKNOWN"
                           : sb_code_name(code);
    if (c->json) {
        json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "code", code, "code_name", name, "codespace",
                              codespace ? codespace : "", "log", log ? log : "");
        cli_print_json(c, o);
    }
    if (codespace && *codespace && strcmp(codespace, SB_CODESPACE) != 0)
        fprintf(stderr, "sleetbubble: rejected: code %d (codespace %s): %s\n", code, codespace,
                log ? log : "");
    else
        fprintf(stderr, "sleetbubble: rejected: %s (code %d): %s\n", name, code, log ? log : "");
    return CLI_EXIT_REJECTED;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int ret = -1;
    *out = NULL;
    *len = 0;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        goto done;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > max + 1)
                ncap = max + 1;
            if (ncap <= cap) {
                snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
                goto done;
            }
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto done;
    }
    if (n > max) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
        goto done;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    ret = 0;
done:
    free(buf);
    if (!is_stdin)
        fclose(f);
    return ret;
}

int cli_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char tmp[4200];
    if (strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            snprintf(err, errlen, "cannot write to stdout");
            return -1;
        }
        return 0;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (off < len || fsync(fd) < 0 || close(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        if (off < len)
            close(fd);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- argument parsing ---- */

enum {
    K_KEYS = 1 << 0,
    K_TRACKS = 1 << 1,
    K_PROPOSE = 1 << 2,
    K_VOTE = 1 << 3,
    K_TUNE = 1 << 4,
    K_QUERY = 1 << 5,
    K_STATUS = 1 << 6,
    K_SCHEDULE = 1 << 7,
    K_ONAIR = 1 << 8,
    K_ALL = 0x1ff
};

typedef struct cli_opt {
    const char *name; /* long name without "--" */
    char shortname;   /* or 0 */
    int flag;         /* 1: no argument, sets an int */
    unsigned cmds;    /* commands that accept it */
    size_t off;       /* offsetof the const char * (or int) field in cli_ctx */
} cli_opt;

#define F(field) offsetof(cli_ctx, field)
static const cli_opt OPTS[] = {
    { "node", 0, 0, K_ALL, F(node) },
    { "ipfs", 0, 0, K_ALL, F(ipfs) },
    { "gateway", 0, 0, K_ALL, F(gateway) },
    { "home", 0, 0, K_ALL, 0 /* special */ },
    { "output", 0, 0, K_ALL, 0 /* special */ },
    { "timeout", 0, 0, K_ALL, 0 /* special */ },
    { "slot", 0, 0, K_PROPOSE | K_VOTE | K_TUNE, F(slot) },
    { "playlist", 0, 0, K_PROPOSE, F(playlist) },
    { "key", 0, 0, K_PROPOSE | K_SCHEDULE, F(key) },
    { "note", 0, 0, K_PROPOSE, F(note) },
    { "proposal", 0, 0, K_VOTE, F(proposal) },
    { "validator-key", 0, 0, K_VOTE, F(validator_key) },
    { "vote-key", 0, 0, K_VOTE, F(vote_key) },
    { "validator", 0, 0, K_VOTE, F(validator) },
    { "skip-check", 0, 1, K_VOTE, F(skip_check) },
    { "now", 0, 1, K_TUNE, F(now) },
    { "out", 'o', 0, K_TRACKS | K_TUNE, F(out_file) },
    { "library", 0, 0, K_SCHEDULE, F(library) },
    { "slots", 0, 0, K_SCHEDULE, F(sched_slots) },
    { "no-repeat-slots", 0, 0, K_SCHEDULE, F(no_repeat) },
    { "dry-run", 0, 1, K_SCHEDULE, F(dry_run) },
    { "socket", 0, 0, K_ONAIR, F(socket) },
};
#undef F
#define NOPTS (sizeof OPTS / sizeof OPTS[0])

static const struct {
    const char *name;
    unsigned kind;
    int (*run)(cli_ctx *);
} CMDS[] = {
    { "keys", K_KEYS, cli_cmd_keys },          { "tracks", K_TRACKS, cli_cmd_tracks },
    { "propose", K_PROPOSE, cli_cmd_propose }, { "vote", K_VOTE, cli_cmd_vote },
    { "tune", K_TUNE, cli_cmd_tune },          { "query", K_QUERY, cli_cmd_query },
    { "status", K_STATUS, cli_cmd_status },    { "schedule", K_SCHEDULE, cli_cmd_schedule },
    { "onair", K_ONAIR, cli_cmd_onair },
};

static void usage(FILE *f)
{
    fprintf(
        f, "usage: sleetbubble [global options] COMMAND [options]\n"
           "\n"
           "commands:\n"
           "  keys new NAME | keys show NAME     ed25519 key in HOME/keys/NAME.json (0600)\n"
           "  tracks add FILE... [-o FILE]       duration + tags (libsndfile), add to Kubo,\n"
           "                                     write the playlist JSON (stdout without -o)\n"
           "  propose --slot N|next --playlist FILE|- --key NAME [--note TEXT]\n"
           "                                     next = the first slot whose voting is still\n"
           "                                     open at the last block's time\n"
           "  vote [--slot N] --proposal HEX (--validator-key PATH/priv_validator_key.json |\n"
           "       --vote-key NAME --validator PUBKEY_HEX) [--skip-check]\n"
           "  tune [--slot N|current] [-o FILE.m3u] | tune --now   M3U, or what plays now\n"
           "  query params | slot N|current | winner N | proposal ID | validators | pins N\n"
           "  status                             height, slots, time to close, last winner\n"
           "  schedule --library DIR --key NAME [--slots N] [--no-repeat-slots K] [--dry-run]\n"
           "                                     propose a packed playlist from DIR for each of\n"
           "                                     the next N (4) open slots, no track again within\n"
           "                                     K (4) of this curator's slots (protocol.md §15)\n"
           "  onair --socket PATH                put the programme on air: drive Liquidsoap\n"
           "                                     (scripts/onair/sleetbubble.liq) into Icecast\n"
           "  version | help\n"
           "\n"
           "global options:\n"
           "  --node URL      CometBFT RPC (default " CLI_DEFAULT_NODE ")\n"
           "  --ipfs URL      Kubo RPC API (default " CLI_DEFAULT_IPFS ")\n"
           "  --gateway URL   Kubo gateway for tune and onair (default " CLI_DEFAULT_GATEWAY ")\n"
           "  --home DIR      keys directory root (default $" CLI_HOME_ENV
           " or ~/" CLI_HOME_DEFAULT_DIR ")\n"
           "  --output text|json\n"
           "  --timeout S     per request to the node (default 30)\n"
           "\n"
           "exit status: 0 ok, 1 rejected by the chain, 2 usage or bad input, 3 node or Kubo\n"
           "unreachable\n");
}

static const cli_opt *find_long(const char *name, size_t n)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(OPTS[i].name) == n && strncmp(OPTS[i].name, name, n) == 0)
            return &OPTS[i];
    return NULL;
}

static const cli_opt *find_short(char c)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (OPTS[i].shortname && OPTS[i].shortname == c)
            return &OPTS[i];
    return NULL;
}

/* Fill c from argv; positional words go to pos[]. Returns 0 or CLI_EXIT_USAGE. seen[i]
 * records which OPTS were given (for the per-command check). */
static int parse(int argc, char **argv, cli_ctx *c, char **pos, size_t *npos, int *seen, int *help,
                 const char **home, const char **output, const char **timeout)
{
    int only_pos = 0;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        const cli_opt *o = NULL;
        const char *val = NULL;
        char shown[80];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            o = find_long(a + 2, n);
            if (eq)
                val = eq + 1;
        } else if (a[2] == '\0') {
            o = find_short(a[1]);
        }
        if (!o) {
            cli_errf("unknown option %s (see sleetbubble help)", a);
            return CLI_EXIT_USAGE;
        }
        snprintf(shown, sizeof shown, "--%s", o->name);
        size_t idx = (size_t)(o - OPTS);
        if (seen[idx]) {
            cli_errf("%s given twice", shown);
            return CLI_EXIT_USAGE;
        }
        seen[idx] = 1;
        if (o->flag) {
            if (val) {
                cli_errf("%s takes no value", shown);
                return CLI_EXIT_USAGE;
            }
            *(int *)((char *)c + o->off) = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                cli_errf("%s needs a value", shown);
                return CLI_EXIT_USAGE;
            }
            val = argv[++i];
        }
        if (strcmp(o->name, "home") == 0)
            *home = val;
        else if (strcmp(o->name, "output") == 0)
            *output = val;
        else if (strcmp(o->name, "timeout") == 0)
            *timeout = val;
        else
            *(const char **)((char *)c + o->off) = val;
    }
    return 0;
}

/* Default home: $SLEETBUBBLE_CLI_HOME, else $HOME/.sleetbubble-cli. 0 / -1. */
static int set_home(cli_ctx *c, const char *given)
{
    const char *env = getenv(CLI_HOME_ENV), *h = getenv("HOME");
    int n;
    if (given)
        n = snprintf(c->home, sizeof c->home, "%s", given);
    else if (env && *env)
        n = snprintf(c->home, sizeof c->home, "%s", env);
    else if (h && *h)
        n = snprintf(c->home, sizeof c->home, "%s/" CLI_HOME_DEFAULT_DIR, h);
    else
        return -1;
    if (n < 0 || (size_t)n >= sizeof c->home || c->home[0] == '\0')
        return -1;
    size_t l = strlen(c->home);
    while (l > 1 && c->home[l - 1] == '/')
        c->home[--l] = '\0';
    return 0;
}

static int run(int argc, char **argv)
{
    cli_ctx c;
    int seen[NOPTS] = { 0 };
    const char *home = NULL, *output = NULL, *timeout = NULL;
    size_t npos = 0;
    int rc, help = 0;
    memset(&c, 0, sizeof c);
    char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
    if (!pos) {
        cli_errf("out of memory");
        return CLI_EXIT_USAGE;
    }
    if ((rc = parse(argc, argv, &c, pos, &npos, seen, &help, &home, &output, &timeout)))
        goto done;
    rc = CLI_EXIT_USAGE;
    if (help) {
        usage(stdout);
        rc = CLI_EXIT_OK;
        goto done;
    }
    if (npos == 0) {
        usage(stderr);
        goto done;
    }
    const char *cmd = pos[0];
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        rc = CLI_EXIT_OK;
        goto done;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("sleetbubble %s\n", SLEETBUBBLE_VERSION);
        rc = CLI_EXIT_OK;
        goto done;
    }
    int (*fn)(cli_ctx *) = NULL;
    unsigned kind = 0;
    for (size_t i = 0; i < sizeof CMDS / sizeof CMDS[0]; i++)
        if (strcmp(cmd, CMDS[i].name) == 0)
            fn = CMDS[i].run, kind = CMDS[i].kind;
    if (!fn) {
        cli_errf("unknown command \"%s\" (see sleetbubble help)", cmd);
        goto done;
    }
    for (size_t i = 0; i < NOPTS; i++) {
        if (seen[i] && !(OPTS[i].cmds & kind)) {
            cli_errf("--%s does not apply to %s", OPTS[i].name, cmd);
            goto done;
        }
    }
    if (output && strcmp(output, "text") != 0 && strcmp(output, "json") != 0) {
        cli_errf("--output: \"%s\" is not text or json", output);
        goto done;
    }
    c.json = output && strcmp(output, "json") == 0;
    c.timeout_s = 30;
    if (timeout) {
        uint64_t t;
        if (cli_parse_u64(timeout, &t) < 0 || t < 1 || t > 86400) {
            cli_errf("--timeout: \"%s\" is not a number of seconds in [1, 86400]", timeout);
            goto done;
        }
        c.timeout_s = (long)t;
    }
    if (!c.node)
        c.node = CLI_DEFAULT_NODE;
    if (!c.ipfs)
        c.ipfs = CLI_DEFAULT_IPFS;
    if (!c.gateway)
        c.gateway = CLI_DEFAULT_GATEWAY;
    if (set_home(&c, home) < 0 && (kind & (K_KEYS | K_PROPOSE | K_VOTE | K_SCHEDULE))) {
        cli_errf("cannot tell the key directory: set --home or $" CLI_HOME_ENV);
        goto done;
    }
    c.args = pos + 1;
    c.nargs = npos - 1;
    rc = fn(&c);
done:
    free(pos);
    return rc;
}

int cli_main(int argc, char **argv)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cli_errf("cannot initialise libcurl");
        return CLI_EXIT_UNREACHABLE;
    }
    int rc = run(argc, argv);
    fflush(stdout);
    curl_global_cleanup();
    return rc;
}
