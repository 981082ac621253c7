/* query_fuzz.c - the abci_query path parser and handlers (sb_query, protocol.md §8) on arbitrary
 * paths, against a fixed committed state built once through the real app callbacks and
 * store (app_fixture.h: three blocks, slot 1 won by curator A's playlist).
 *
 * The input is the path (up to its first NUL, as a protobuf string reaches the app). Each
 * path is asked at height 0, at the committed height, and at a height not served.
 * Invariants (abort): the handler never fails on input (only out of memory may); codes are
 * 0, HEIGHT_UNAVAILABLE, UNKNOWN_PATH or NOT_FOUND; a non-zero code has a log line starting
 * with its name and no value; code 0 has a JSON object value and no log; the response height
 * is the committed one; asking at height 0 or at the committed height gives the same bytes,
 * and asking again gives them again (reads change nothing); a path outside the known
 * prefixes is UNKNOWN_PATH. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "abci/ctx.h"
#include "app_fixture.h"
#include "fuzz_common.h"
#include "sb_code.h"

static fx_app g_fx;
static abci_ctx *g_ctx;
static size_t g_codes[SB_NOT_FOUND + 1];

static void cleanup(void) { fx_app_close(&g_fx); }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fx_quiet_logs();
    fx_app_open(&g_fx);
    fx_build_chain(&g_fx);
    g_ctx = abci_ctx_new("fuzz");
    FUZZ_CHECK(g_ctx != NULL, "out of memory");
    atexit(cleanup);
    return 0;
}

typedef struct answer {
    int rc;
    uint32_t code;
    int64_t height;
    char log[600];
    uint8_t *value; /* malloc'd */
    size_t value_len;
} answer;

static void ask(const char *path, int64_t height, answer *a)
{
    Tendermint__Abci__RequestQuery q = TENDERMINT__ABCI__REQUEST_QUERY__INIT;
    Tendermint__Abci__ResponseQuery r = TENDERMINT__ABCI__RESPONSE_QUERY__INIT;
    q.path = (char *)path;
    q.height = height;
    a->rc = sb_app_abci()->query(g_fx.app, g_ctx, &q, &r);
    a->code = r.code;
    a->height = r.height;
    snprintf(a->log, sizeof(a->log), "%s", r.log ? r.log : "");
    a->value_len = r.value.len;
    a->value = malloc(r.value.len ? r.value.len : 1);
    FUZZ_CHECK(a->value != NULL, "out of memory");
    if (r.value.len)
        memcpy(a->value, r.value.data, r.value.len);
    abci_ctx_reset(g_ctx);
}

static int same(const answer *a, const answer *b)
{
    return a->rc == b->rc && a->code == b->code && a->height == b->height &&
           strcmp(a->log, b->log) == 0 && a->value_len == b->value_len &&
           memcmp(a->value, b->value, a->value_len) == 0;
}

static int known_prefix(const char *p)
{
    static const char *const exact[] = { "/params", "/slot/current", "/validators" };
    static const char *const prefix[] = { "/slot/", "/winner/", "/proposal/", "/pins/" };
    for (size_t i = 0; i < 3; i++)
        if (strcmp(p, exact[i]) == 0)
            return 1;
    for (size_t i = 0; i < 4; i++)
        if (strncmp(p, prefix[i], strlen(prefix[i])) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = malloc(size + 1);
    FUZZ_CHECK(path != NULL, "out of memory");
    memcpy(path, data, size);
    path[size] = '\0';
    int64_t h = sb_app_height(g_fx.app);
    answer a, b, c, d;
    ask(path, 0, &a);
    ask(path, h, &b);
    ask(path, 0, &c);
    ask(path, h + 1 + (int64_t)(size % 5), &d);

    FUZZ_CHECK(a.rc == 0, "query handler failed on input");
    FUZZ_CHECK(same(&a, &b), "height 0 and the committed height answer differently");
    FUZZ_CHECK(same(&a, &c), "the same query answered differently the second time");
    FUZZ_CHECK(a.height == h, "response height is not the committed height");
    FUZZ_CHECK(d.rc == 0 && d.code == SB_HEIGHT_UNAVAILABLE && d.value_len == 0 && d.log[0],
               "an unserved height is not HEIGHT_UNAVAILABLE");
    FUZZ_CHECK(a.code == 0 || a.code == SB_UNKNOWN_PATH || a.code == SB_NOT_FOUND, "query code");
    if (a.code) {
        const char *name = sb_code_name((int)a.code);
        FUZZ_CHECK(strncmp(a.log, name, strlen(name)) == 0 && a.log[strlen(name)] == ':',
                   "error log does not start with the code name");
        FUZZ_CHECK(a.value_len == 0, "error with a value");
    } else {
        json_error_t je;
        json_t *v = json_loadb((const char *)a.value, a.value_len, 0, &je);
        FUZZ_CHECK(v && json_is_object(v), "value is not a JSON object");
        json_decref(v);
        FUZZ_CHECK(a.log[0] == '\0', "success with a log");
    }
    if (!known_prefix(path))
        FUZZ_CHECK(a.code == SB_UNKNOWN_PATH, "unknown path not UNKNOWN_PATH");
    g_codes[a.code <= SB_NOT_FOUND ? a.code : 0]++;
    free(a.value);
    free(b.value);
    free(c.value);
    free(d.value);
    free(path);
    return 0;
}

const char *fuzz_replay_summary(void)
{
    static char s[128];
    snprintf(s, sizeof(s), "; OK %zu UNKNOWN_PATH %zu NOT_FOUND %zu", g_codes[0],
             g_codes[SB_UNKNOWN_PATH], g_codes[SB_NOT_FOUND]);
    return s;
}
