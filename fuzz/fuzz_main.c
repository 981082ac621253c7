/* fuzz_main.c - the plain (gcc, no libFuzzer) replay driver every fuzz target links in its
 * ctest build. It plays the part of libFuzzer's main, deterministically:
 *
 *   <target>_replay --corpus DIR [--mutations N] FILE...
 *
 * 1. Every FILE is run through LLVMFuzzerTestOneInput, sorted by name whatever the order of
 *    the arguments (reproducible). The list (fuzz/CMakeLists.txt), not a directory scan, is
 *    the source of truth, so a renamed or deleted seed is an error, not a quietly smaller
 *    run; DIR must hold exactly the listed files, so a seed added to the corpus but not to
 *    the list fails too.
 * 2. fuzz_replay_check() (optional, weak) runs extra per-seed checks a target defines.
 * 3. N mutations (default given by --mutations) drawn with a fixed-seed PRNG: through the
 *    target's LLVMFuzzerCustomMutator when it has one, else byte flips/inserts/deletes/splices.
 *
 * It fails (exit 1) on a missing, unreadable or unlisted file, on an empty list, and when
 * SB_FUZZ_ROUNDS asks for fewer mutations than the default, unless SB_ALLOW_SKIP=1
 * (nothing in CI runs fewer cases without saying so). SB_FUZZ_ROUNDS may ask for more.
 * Invariant violations abort() inside the target, as under libFuzzer; the input that was
 * running is then saved as ./replay-crash (the test's working directory) to be added to the
 * corpus as a regression seed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
__attribute__((weak)) size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                                                     unsigned int seed);

#define FUZZ_MAX_INPUT ((size_t)1 << 20)

typedef struct input {
    char *name; /* basename, owned */
    uint8_t *p; /* owned */
    size_t len;
} input;

static input *g_in;
static size_t g_n;

/* The input under test, saved by on_abort. */
static const uint8_t *g_cur;
static size_t g_cur_len;

static void on_abort(int sig)
{
    static const char msg[] = "fuzz replay: the failing input is saved as ./replay-crash\n";
    int fd = open("replay-crash", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0 && g_cur) {
        ssize_t w = write(fd, g_cur, g_cur_len);
        w = write(2, msg, sizeof(msg) - 1);
        (void)w;
    }
    if (fd >= 0)
        close(fd);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run(const uint8_t *p, size_t len)
{
    g_cur = p;
    g_cur_len = len;
    LLVMFuzzerTestOneInput(p, len);
}

/* xorshift64, fixed seed: every run replays the same mutations. */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return n ? g_rng % n : 0;
}

/* Deterministic stand-in for libFuzzer's mutator (a custom mutator calls it). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
{
    for (uint64_t k = 1 + rnd(4); k > 0; k--) {
        uint64_t op = rnd(5);
        if (op == 0 && size) {
            data[rnd(size)] ^= (uint8_t)(1u << rnd(8));
        } else if (op == 1 && size) {
            data[rnd(size)] = (uint8_t)rnd(256);
        } else if (op == 2 && size < max_size) {
            size_t at = (size_t)rnd(size + 1);
            memmove(data + at + 1, data + at, size - at);
            data[at] = (uint8_t)rnd(256);
            size++;
        } else if (op == 3 && size) {
            size_t at = (size_t)rnd(size);
            memmove(data + at, data + at + 1, size - at - 1);
            size--;
        } else if (size && g_n) { /* splice a piece of another input over this one */
            const input *o = &g_in[rnd(g_n)];
            if (o->len) {
                size_t from = (size_t)rnd(o->len), at = (size_t)rnd(size);
                size_t n = 1 + (size_t)rnd(16);
                if (n > o->len - from)
                    n = o->len - from;
                if (n > size - at)
                    n = size - at;
                memcpy(data + at, o->p + from, n);
            }
        }
    }
    return size;
}

static int load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(FUZZ_MAX_INPUT + 1);
    size_t len = buf ? fread(buf, 1, FUZZ_MAX_INPUT + 1, f) : 0;
    int bad = !buf || ferror(f) || len > FUZZ_MAX_INPUT;
    fclose(f);
    input *v = bad ? NULL : realloc(g_in, (g_n + 1) * sizeof(*v));
    const char *base = strrchr(path, '/');
    char *name = v ? strdup(base ? base + 1 : path) : NULL;
    if (!name) {
        fprintf(stderr, "fuzz replay: %s: unreadable, over %zu bytes, or out of memory\n", path,
                FUZZ_MAX_INPUT);
        free(buf);
        return -1;
    }
    g_in = v;
    g_in[g_n++] = (input){ name, buf, len };
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const input *)a)->name, ((const input *)b)->name);
}

/* DIR must hold exactly the listed files (dot files aside). */
static int check_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz replay: corpus %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t seen = 0;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        size_t i = 0;
        while (i < g_n && strcmp(g_in[i].name, e->d_name) != 0)
            i++;
        if (i == g_n) {
            fprintf(stderr, "fuzz replay: %s/%s is not listed in fuzz/CMakeLists.txt\n", dir,
                    e->d_name);
            rc = -1;
        }
        seen++;
    }
    closedir(d);
    if (rc == 0 && seen != g_n) {
        fprintf(stderr, "fuzz replay: %zu files listed, %zu in %s\n", g_n, seen, dir);
        rc = -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    unsigned long long mutations = 0;
    int i = 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGABRT, on_abort);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
        if (strcmp(argv[i], "--corpus") == 0) {
            dir = argv[i + 1];
        } else if (strcmp(argv[i], "--mutations") == 0) {
            char *end = NULL;
            mutations = strtoull(argv[i + 1], &end, 10);
            if (!end || *end || !argv[i + 1][0]) {
                fprintf(stderr, "fuzz replay: --mutations wants a number\n");
                return 2;
            }
        } else {
            break;
        }
    }
    if (!dir || i >= argc) {
        fprintf(stderr, "usage: %s --corpus DIR [--mutations N] FILE...\n", argv[0]);
        return 2;
    }
    const char *r = getenv("SB_FUZZ_ROUNDS");
    const char *allow = getenv("SB_ALLOW_SKIP");
    if (r && *r) {
        char *end = NULL;
        unsigned long long want = strtoull(r, &end, 10);
        if (!end || *end) {
            fprintf(stderr, "fuzz replay: SB_FUZZ_ROUNDS=%s is not a number\n", r);
            return 2;
        }
        if (want < mutations && !(allow && strcmp(allow, "1") == 0)) {
            fprintf(stderr,
                    "fuzz replay: SB_FUZZ_ROUNDS=%llu runs fewer than the %llu mutations of "
                    "the suite; set SB_ALLOW_SKIP=1 to allow it\n",
                    want, mutations);
            return 1;
        }
        mutations = want;
    }
    for (; i < argc; i++)
        if (load(argv[i]) != 0)
            return 1;
    if (g_n == 0 || check_dir(dir) != 0)
        return 1;
    qsort(g_in, g_n, sizeof(*g_in), by_name);

    for (size_t k = 0; k < g_n; k++) {
        run(g_in[k].p, g_in[k].len);
        if (fuzz_replay_check)
            fuzz_replay_check(g_in[k].name, g_in[k].p, g_in[k].len);
    }
    uint8_t *m = malloc(FUZZ_MAX_INPUT);
    if (!m)
        return 1;
    for (unsigned long long k = 0; k < mutations; k++) {
        const input *src = &g_in[rnd(g_n)];
        size_t len = src->len;
        memcpy(m, src->p, len);
        if (LLVMFuzzerCustomMutator)
            len = LLVMFuzzerCustomMutator(m, len, FUZZ_MAX_INPUT, (unsigned)rnd(UINT32_MAX));
        else
            len = LLVMFuzzerMutate(m, len, len + 64 < FUZZ_MAX_INPUT ? len + 64 : FUZZ_MAX_INPUT);
        run(m, len);
    }
    free(m);
    printf("%s: %zu corpus inputs and %llu mutations, no invariant broken%s\n", argv[0], g_n,
           mutations, fuzz_replay_summary ? fuzz_replay_summary() : "");
    for (size_t k = 0; k < g_n; k++) {
        free(g_in[k].name);
        free(g_in[k].p);
    }
    free(g_in);
    return 0;
}
