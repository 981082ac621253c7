/* abci_frame_fuzz.c - the ABCI server library (abci/, protocol.md §2) under a fuzzed byte stream:
 * frame decoder + Request unpacking + dispatch to the library's default callbacks (all
 * callbacks NULL), over a real connection (socketpair) on a real libevent loop. The checks are
 * abci_stream.h's: in-order answers of the right kind, no exception, no hang, responses for a
 * well-formed stream, and the close reason the model predicts (e.g. a truncated last frame
 * after the peer's close). The sleetbubbled callbacks get the same treatment in
 * abci_app_fuzz.c.
 *
 * Builds: libFuzzer (scripts/fuzz) and the ctest replay with fuzz_main.c (fuzz/CMakeLists.txt),
 * which also checks each corpus stream whole and without its last byte. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "abci_stream.h"
#include "fuzz_common.h"

static struct event_base *g_base;
static abci_server *g_srv;
static size_t g_responses;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    g_base = event_base_new();
    abci_server_opts o = { .max_frame_bytes = ABCI_STREAM_MAX_FRAME, .log = abci_stream_log };
    static const abci_app_t none; /* every callback NULL: the library defaults */
    g_srv = g_base ? abci_server_new(g_base, &none, NULL, &o) : NULL;
    FUZZ_CHECK(g_srv != NULL, "server setup");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    abci_stream_result r;
    abci_stream_run(g_base, g_srv, data, size, 0, &r);
    g_responses += r.responses;
    return 0;
}

void fuzz_replay_check(const char *name, const uint8_t *data, size_t size)
{
    abci_stream_result whole, cut;
    abci_stream_run(g_base, g_srv, data, size, 0, &whole);
    abci_stream_run(g_base, g_srv, data, size ? size - 1 : 0, 0, &cut);
    abci_stream_check_seed(name, &whole, &cut);
}

const char *fuzz_replay_summary(void)
{
    static char s[64];
    snprintf(s, sizeof(s), "; %zu responses checked", g_responses);
    return s;
}
