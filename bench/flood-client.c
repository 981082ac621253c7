/* flood-client.c - a small load client for `scripts/bench flood`: sends distinct invalid
 * transactions to a CometBFT node's RPC with broadcast_tx_async at a fixed rate, over a pool
 * of keep-alive HTTP connections (libcurl multi). Bench tool: not installed.
 *
 *   flood-client --rpc URL --rate N --seconds S [--conns C] (--badsig TXHEX | --kv)
 *
 * --badsig TXHEX  a Sleetbubble tx (protocol.md §3) whose last field is its 64-byte signature;
 *                 tx i is TXHEX with bytes 32..39 of the signature (the low bytes of S) set
 *                 to i, so every tx is distinct, canonical, and fails its Ed25519 check: each
 *                 costs the node one real verification, and no cache can help.
 * --kv            tx i is "flood-<i>" (no '=' or ':'), which CometBFT's Go kvstore rejects
 *                 in CheckTx: the same flood for the reference app.
 * Prints one line: sent, answered, rpc_errors (a JSON-RPC error, e.g. mempool full),
 * http_errors, achieved rate. Exit 2 on bad arguments, 1 if nothing was answered. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONNS 64
#define MAX_TX 4096

typedef struct slot {
    CURL *h;
    char url[128 + 2 * MAX_TX + 16];
    char body[512];
    size_t blen;
    int busy;
} slot;

typedef struct flood {
    const char *rpc;
    uint8_t tx[MAX_TX];
    size_t txlen;
    int kv;
    uint64_t sent, answered, rpc_err, http_err;
} flood;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    slot *s = arg;
    size_t len = size * n, room = sizeof(s->body) - 1 - s->blen;
    memcpy(s->body + s->blen, p, len < room ? len : room);
    s->blen += len < room ? len : room;
    s->body[s->blen] = '\0';
    return len;
}

static int unhex(const char *s, uint8_t *out, size_t max, size_t *n)
{
    size_t len = strlen(s);
    if (len % 2 || len / 2 > max)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    *n = len / 2;
    return 0;
}

/* The URL of tx number i into s->url. */
static void make_url(const flood *f, slot *s, uint64_t i)
{
    static const char hx[] = "0123456789abcdef";
    int n = snprintf(s->url, sizeof(s->url), "%s/broadcast_tx_async?tx=0x", f->rpc);
    char *p = s->url + n;
    if (f->kv) {
        char t[32];
        int tl = snprintf(t, sizeof(t), "flood-%llu", (unsigned long long)i);
        for (int k = 0; k < tl; k++) {
            *p++ = hx[(uint8_t)t[k] >> 4];
            *p++ = hx[(uint8_t)t[k] & 15];
        }
    } else {
        uint8_t tx[MAX_TX];
        memcpy(tx, f->tx, f->txlen);
        uint8_t *sig = tx + f->txlen - 64;
        for (int k = 0; k < 8; k++)
            sig[32 + k] = (uint8_t)(i >> (8 * k));
        for (size_t k = 0; k < f->txlen; k++) {
            *p++ = hx[tx[k] >> 4];
            *p++ = hx[tx[k] & 15];
        }
    }
    *p = '\0';
}

static void finish(flood *f, CURLM *m, CURLMsg *msg, slot *slots, int conns)
{
    for (int k = 0; k < conns; k++) {
        if (slots[k].h != msg->easy_handle)
            continue;
        long code = 0;
        curl_easy_getinfo(slots[k].h, CURLINFO_RESPONSE_CODE, &code);
        if (msg->data.result != CURLE_OK || code != 200)
            f->http_err++;
        else if (strstr(slots[k].body, "\"error\""))
            f->rpc_err++;
        else
            f->answered++;
        curl_multi_remove_handle(m, slots[k].h);
        slots[k].busy = 0;
        return;
    }
}

static int run(flood *f, int rate, int seconds, int conns)
{
    CURLM *m = curl_multi_init();
    slot *slots = calloc((size_t)conns, sizeof(*slots));
    if (!m || !slots)
        return 1;
    for (int k = 0; k < conns; k++) {
        slots[k].h = curl_easy_init();
        curl_easy_setopt(slots[k].h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(slots[k].h, CURLOPT_WRITEDATA, &slots[k]);
        curl_easy_setopt(slots[k].h, CURLOPT_TIMEOUT, 10L);
    }
    double t0 = now_s(), end = t0 + seconds;
    int running = 0;
    for (;;) {
        double t = now_s();
        uint64_t due = t < end ? (uint64_t)((t - t0) * rate) : f->sent;
        for (int k = 0; k < conns && f->sent < due; k++) {
            if (slots[k].busy)
                continue;
            make_url(f, &slots[k], f->sent++);
            slots[k].blen = 0;
            slots[k].busy = 1;
            curl_easy_setopt(slots[k].h, CURLOPT_URL, slots[k].url);
            curl_multi_add_handle(m, slots[k].h);
        }
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE)
                finish(f, m, msg, slots, conns);
        if (t >= end && running == 0)
            break;
        curl_multi_poll(m, NULL, 0, 1, NULL);
    }
    double took = now_s() - t0;
    printf("sent=%llu answered=%llu rpc_errors=%llu http_errors=%llu seconds=%.1f "
           "rate_per_s=%.0f\n",
           (unsigned long long)f->sent, (unsigned long long)f->answered,
           (unsigned long long)f->rpc_err, (unsigned long long)f->http_err, took,
           (double)f->sent / took);
    for (int k = 0; k < conns; k++)
        curl_easy_cleanup(slots[k].h);
    free(slots);
    curl_multi_cleanup(m);
    return f->answered ? 0 : 1;
}

/* A positive int option value, or -1. */
static int pos_int(const char *v)
{
    char *end;
    long x = strtol(v, &end, 10);
    return *v && !*end && x > 0 && x <= 1000000 ? (int)x : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: flood-client --rpc URL --rate N --seconds S [--conns C] "
                    "(--badsig TXHEX | --kv)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static flood f;
    int rate = 0, seconds = 0, conns = 16, have_tx = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--kv")) {
            f.kv = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--rpc"))
            f.rpc = v;
        else if (!strcmp(a, "--rate"))
            rate = pos_int(v);
        else if (!strcmp(a, "--seconds"))
            seconds = pos_int(v);
        else if (!strcmp(a, "--conns"))
            conns = pos_int(v);
        else if (!strcmp(a, "--badsig"))
            have_tx = unhex(v, f.tx, sizeof(f.tx), &f.txlen) == 0;
        else
            return usage();
    }
    if (!f.rpc || rate <= 0 || seconds <= 0 || conns <= 0 || conns > MAX_CONNS || f.kv == have_tx)
        return usage();
    /* the signature is the last field: tag 0x1a, length 64, 64 bytes (protocol.md §3) */
    if (!f.kv && (f.txlen < 66 || f.tx[f.txlen - 66] != 0x1a || f.tx[f.txlen - 65] != 0x40)) {
        fprintf(stderr, "flood-client: --badsig: not a tx ending in a 64-byte signature\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = run(&f, rate, seconds, conns);
    curl_global_cleanup();
    return rc;
}
