/* abci_frame_fuzz.c - fuzz the ABCI frame decoder and a live server connection (SPEC §2).
 *
 * Each input is a byte stream as a client would send it. It goes (1) through the pure frame
 * decoder + Request unpacker, and (2) into a real connection of a real abci_server (all
 * callbacks NULL = library defaults) over a socketpair, until the server answers or closes.
 * Invariants (abort on violation): the decoder never reads past the input and never accepts
 * a body above the limit; the server writes only well-formed frames of Responses, never an
 * exception, and always ends the connection (no hang) once the peer has closed.
 *
 * Plain build (ctest replays fuzz/abci_frame_corpus/ on every run):
 *   abci_frame_fuzz_replay FILE_OR_DIR...
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
static int replay_file(const char *path)
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
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "abci_frame_fuzz: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) != 0)
                return 1;
            n++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d)
            return 1;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (replay_file(path) != 0) {
                closedir(d);
                return 1;
            }
            n++;
        }
        closedir(d);
    }
    printf("abci_frame_fuzz: replayed %zu inputs, %zu responses checked\n", n, g_responses);
    return n > 0 ? 0 : 1;
}
#endif
