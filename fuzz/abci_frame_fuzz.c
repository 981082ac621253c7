/* abci_frame_fuzz.c - fuzz the ABCI frame decoder and a live server connection (SPEC §2).
 *
 * Each input is a byte stream as a client would send it. It goes (1) through the pure frame
 * decoder + Request unpacker, and (2) into a real connection of a real abci_server (all
 * callbacks NULL = library defaults) over a socketpair, until the server answers or closes.
 * Invariants (abort on violation): the decoder never reads past the input and never accepts
 * a body above the limit; the server writes only well-formed frames of Responses, never an
 * exception, and always ends the connection (no hang) once the peer has closed.
 *
 * Plain build (ctest replays fuzz/abci_frame_corpus/ and 3000 seeded mutations every run):
 *   abci_frame_fuzz_replay [--mutations N] FILE_OR_DIR...
 * libFuzzer build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DABCI_FUZZ_LIBFUZZER \
 *     -Iabci/include -Iabci/src -Ibuild/proto fuzz/abci_frame_fuzz.c abci/src/[a-z]*.c \
 *     build/proto/tendermint/abci/types.pb-c.c -lprotobuf-c -levent_core -o abci_frame_fuzz
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "abci-internal.h"
#include "abci/frame.h"

#define FUZZ_MAX_FRAME ((size_t)1 << 20)

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "abci_frame_fuzz: invariant violated: %s\n", what);
        abort();
    }
}

static size_t g_responses; /* responses seen, for the replay summary */

static void quiet_log(void *arg, int level, const char *msg)
{
}

/* (1) pure decoder */
static void fuzz_decoder(const uint8_t *data, size_t size)
{
    abci_reader r = {data, size, 0};
    for (;;) {
        const uint8_t *body = NULL;
        uint64_t blen = 0;
        size_t before = r.pos;
        abci_frame_status st = abci_frame_next(&r, FUZZ_MAX_FRAME, &body, &blen);
        if (st != ABCI_FRAME_OK) {
            check(r.pos == before, "position moved on a failed decode");
            break;
        }
        check(blen <= FUZZ_MAX_FRAME, "body above the limit accepted");
        check(body >= data && body + blen <= data + size, "body outside the input");
        check(r.pos > before && r.pos <= size, "position not advanced within input");
        static const uint8_t empty[1];
        Tendermint__Abci__Request *req =
            tendermint__abci__request__unpack(NULL, (size_t)blen, blen ? body : empty);
        if (req) {
            if (req->value_case == TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX) {
                abci_check_tx_kind k = abci_check_tx_kind_of(req->check_tx);
                check(k == ABCI_CHECK_TX_NEW || k == ABCI_CHECK_TX_RECHECK, "check_tx kind");
            }
            tendermint__abci__request__free_unpacked(req, NULL);
        }
    }
}

/* Parse and validate everything the server has written so far into buf/len. */
static void drain_responses(int fd, uint8_t **buf, size_t *len, size_t *cap)
{
    for (;;) {
        if (*cap - *len < 65536) {
            size_t nc = *cap ? *cap * 2 : 131072;
            uint8_t *q = realloc(*buf, nc);
            check(q != NULL, "out of memory");
            *buf = q;
            *cap = nc;
        }
        ssize_t k = read(fd, *buf + *len, *cap - *len);
        if (k <= 0)
            break;
        *len += (size_t)k;
    }
    abci_reader r = {*buf, *len, 0};
    for (;;) {
        const uint8_t *body;
        uint64_t blen;
        abci_frame_status st = abci_frame_next(&r, (size_t)1 << 30, &body, &blen);
        check(st == ABCI_FRAME_OK || st == ABCI_FRAME_NEED_MORE, "server wrote a bad frame");
        if (st != ABCI_FRAME_OK)
            break;
        static const uint8_t empty[1];
        Tendermint__Abci__Response *res =
            tendermint__abci__response__unpack(NULL, (size_t)blen, blen ? body : empty);
        check(res != NULL, "server wrote an undecodable Response");
        check(res->value_case != TENDERMINT__ABCI__RESPONSE__VALUE__NOT_SET &&
                  res->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION,
              "server wrote an empty Response or an exception");
        tendermint__abci__response__free_unpacked(res, NULL);
        g_responses++;
    }
    memmove(*buf, *buf + r.pos, *len - r.pos);
    *len -= r.pos;
}

/* (2) a live connection */
static void fuzz_connection(const uint8_t *data, size_t size)
{
    static struct event_base *base;
    static abci_server *srv;
    if (!base) {
        base = event_base_new();
        abci_server_opts o = {.max_frame_bytes = FUZZ_MAX_FRAME, .log = quiet_log};
        abci_app_t none = {0};
        srv = base ? abci_server_new(base, &none, NULL, &o) : NULL;
        check(srv != NULL, "server setup");
    }
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    check(abci_conn_start(srv, sv[0], NULL, 0, "fuzz") == 0, "conn start");
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);

    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            break; /* server closed the connection */
        event_base_loop(base, EVLOOP_NONBLOCK);
        drain_responses(sv[1], &buf, &len, &cap);
        if (abci_server_connections(srv) == 0)
            break;
    }
    shutdown(sv[1], SHUT_WR);
    int spins = 0;
    while (abci_server_connections(srv) > 0) {
        check(++spins < 100000, "connection not closed after peer EOF");
        event_base_loop(base, EVLOOP_NONBLOCK);
        drain_responses(sv[1], &buf, &len, &cap);
    }
    drain_responses(sv[1], &buf, &len, &cap);
    close(sv[1]);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decoder(data, size);
    fuzz_connection(data, size);
    return 0;
}

#ifndef ABCI_FUZZ_LIBFUZZER
typedef struct {
    uint8_t *p;
    size_t len;
} input;

static input *g_inputs;
static size_t g_ninputs;

static int load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *q = realloc(buf, cap);
            check(q != NULL, "out of memory");
            buf = q;
        }
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (k == 0)
            break;
    }
    fclose(f);
    input *v = realloc(g_inputs, (g_ninputs + 1) * sizeof *v);
    check(v != NULL, "out of memory");
    g_inputs = v;
    g_inputs[g_ninputs++] = (input){buf, len};
    return 0;
}

static int load_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "abci_frame_fuzz: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return load_file(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rc = load_file(p);
    }
    closedir(d);
    return rc;
}

/* xorshift64: fixed seed, so every ctest run replays the same mutations */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return n ? g_rng % n : 0;
}

/* One mutated copy of a corpus input: byte flips, inserts, deletes, splices. */
static void run_mutation(void)
{
    const input *src = &g_inputs[rnd(g_ninputs)];
    size_t cap = src->len * 2 + 64, len = src->len;
    uint8_t *b = malloc(cap);
    check(b != NULL, "out of memory");
    memcpy(b, src->p, len);
    for (uint64_t k = 1 + rnd(8); k > 0; k--) {
        uint64_t op = rnd(4);
        if (op == 0 && len) {
            b[rnd(len)] = (uint8_t)rnd(256);
        } else if (op == 1 && len + 8 <= cap) {
            size_t at = (size_t)rnd(len + 1), n = 1 + (size_t)rnd(8);
            memmove(b + at + n, b + at, len - at);
            for (size_t i = 0; i < n; i++)
                b[at + i] = (uint8_t)rnd(256);
            len += n;
        } else if (op == 2 && len) {
            size_t at = (size_t)rnd(len), n = 1 + (size_t)rnd(8);
            if (n > len - at)
                n = len - at;
            memmove(b + at, b + at + n, len - at - n);
            len -= n;
        } else {
            const input *o = &g_inputs[rnd(g_ninputs)];
            size_t n = o->len < cap - len ? o->len : cap - len;
            memcpy(b + len, o->p, n);
            len += n;
        }
    }
    LLVMFuzzerTestOneInput(b, len);
    free(b);
}

/* usage: abci_frame_fuzz_replay [--mutations N] FILE_OR_DIR... */
int main(int argc, char **argv)
{
    unsigned long long mutations = 0;
    signal(SIGPIPE, SIG_IGN);
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--mutations") == 0) {
        char *end = NULL;
        mutations = strtoull(argv[2], &end, 10);
        if (!end || *end) {
            fprintf(stderr, "abci_frame_fuzz: --mutations wants a number\n");
            return 2;
        }
        i = 3;
    }
    for (; i < argc; i++)
        if (load_path(argv[i]) != 0)
            return 1;
    if (g_ninputs == 0) {
        fprintf(stderr, "abci_frame_fuzz: no inputs\n");
        return 1;
    }
    for (size_t k = 0; k < g_ninputs; k++)
        LLVMFuzzerTestOneInput(g_inputs[k].p, g_inputs[k].len);
    for (unsigned long long k = 0; k < mutations; k++)
        run_mutation();
    printf("abci_frame_fuzz: replayed %zu inputs and %llu mutations, %zu responses checked\n",
           g_ninputs, mutations, g_responses);
    for (size_t k = 0; k < g_ninputs; k++)
        free(g_inputs[k].p);
    free(g_inputs);
    return 0;
}
#endif
