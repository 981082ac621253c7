/* config_fuzz.c - the node config file parser (sb_config_load, config/sleetbubble.toml,
 * protocol.md §11) on arbitrary file contents.
 *
 * The input is written to a memfd and read through its /proc/self/fd path, so the real
 * sb_config_load (fopen + libinih + our line reader) runs unchanged.
 * Invariants (abort): a rejection is one line "<file>:<line>: ..." or "<file>: ..."; an
 * accepted file gives a config whose every field is inside the range config.h documents
 * (strings terminated within their fields, addresses and URLs of the accepted forms). Once at
 * start: the commented default file parses back to exactly the defaults. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"

static int g_fd = -1;
static char g_path[64];
static size_t g_accepted, g_rejected;

static int terminated(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

static void check_config(const sb_config *c)
{
    FUZZ_CHECK(terminated(c->abci.laddr, sizeof(c->abci.laddr)) &&
                   terminated(c->ipfs.api_url, sizeof(c->ipfs.api_url)) &&
                   terminated(c->ipfs.gateway_url, sizeof(c->ipfs.gateway_url)) &&
                   terminated(c->ipfs.auth_header_file, sizeof(c->ipfs.auth_header_file)) &&
                   terminated(c->metrics.laddr, sizeof(c->metrics.laddr)),
               "string field not terminated");
    FUZZ_CHECK(strncmp(c->abci.laddr, "tcp://", 6) == 0 ||
                   strncmp(c->abci.laddr, "unix://", 7) == 0,
               "abci.laddr form");
    FUZZ_CHECK(c->abci.max_frame_bytes >= 1024 && c->abci.max_frame_bytes <= (1ull << 30),
               "abci.max_frame_bytes range");
    FUZZ_CHECK(c->abci.max_connections >= 1 && c->abci.max_connections <= 1024,
               "abci.max_connections range");
    for (int i = 0; i < 2; i++) {
        const char *u = i ? c->ipfs.gateway_url : c->ipfs.api_url;
        FUZZ_CHECK(strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0,
                   "ipfs URL form");
    }
    FUZZ_CHECK(c->ipfs.timeout_seconds >= 1 && c->ipfs.timeout_seconds <= 86400,
               "ipfs.timeout_seconds range");
    FUZZ_CHECK(c->pin.enabled == 0 || c->pin.enabled == 1, "pin.enabled boolean");
    FUZZ_CHECK(c->pin.concurrency >= 1 && c->pin.concurrency <= 64, "pin.concurrency range");
    FUZZ_CHECK(c->pin.keep_slots <= INT64_MAX, "pin.keep_slots range");
    FUZZ_CHECK(c->pin.stall_seconds >= 1 && c->pin.stall_seconds <= 86400,
               "pin.stall_seconds range");
    FUZZ_CHECK(c->pin.max_track_bytes >= 1 && c->pin.max_track_bytes <= INT64_MAX,
               "pin.max_track_bytes range");
    if (c->metrics.laddr[0]) {
        char host[256], err[256];
        uint16_t port;
        FUZZ_CHECK(sb_config_split_hostport(c->metrics.laddr, host, sizeof(host), &port, err,
                                            sizeof(err)) == 0,
                   "accepted metrics.laddr does not split");
    }
    FUZZ_CHECK(c->log.level >= 0 && c->log.level <= 3, "log.level range");
    FUZZ_CHECK(c->log.json == 0 || c->log.json == 1, "log.format");
}

static void write_input(const uint8_t *data, size_t size)
{
    FUZZ_CHECK(ftruncate(g_fd, 0) == 0, "truncate memfd");
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(g_fd, data + off, size - off, (off_t)off);
        FUZZ_CHECK(w > 0, "write memfd");
        off += (size_t)w;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_fd = memfd_create("sleetbubble.toml", MFD_CLOEXEC);
    FUZZ_CHECK(g_fd >= 0, "memfd_create");
    snprintf(g_path, sizeof(g_path), "/proc/self/fd/%d", g_fd);

    /* The default file written by `sleetbubbled init` parses back to the defaults. */
    char dir[] = "/tmp/sb-config-fuzz.XXXXXX", path[64], err[512];
    FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof(path), "%s/sleetbubble.toml", dir);
    FUZZ_CHECK(sb_config_write_default(path, err, sizeof(err)) == 0, "write default config");
    sb_config a, b;
    sb_config_defaults(&a);
    sb_config_defaults(&b);
    if (sb_config_load(&b, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "default config rejected: %s\n", err);
        abort();
    }
    /* where the values came from (file name, key_file's line) is not a value */
    memset(b.file, 0, sizeof(b.file));
    b.vote.key_file_line = 0;
    FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0, "default file does not give the defaults");
    unlink(path);
    rmdir(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sb_config c;
    char err[1024];
    write_input(data, size);
    sb_config_defaults(&c);
    memset(err, 'x', sizeof(err));
    if (sb_config_load(&c, g_path, err, sizeof(err)) == 0) {
        g_accepted++;
        check_config(&c);
        return 0;
    }
    g_rejected++;
    FUZZ_CHECK(terminated(err, sizeof(err)), "error message not terminated");
    size_t pl = strlen(g_path);
    FUZZ_CHECK(strncmp(err, g_path, pl) == 0 && err[pl] == ':' && err[pl + 1],
               "error does not start with the file name");
    FUZZ_CHECK(strchr(err, '\n') == NULL, "error is more than one line");
    return 0;
}

const char *fuzz_replay_summary(void)
{
    static char s[96];
    snprintf(s, sizeof(s), "; %zu files accepted, %zu rejected", g_accepted, g_rejected);
    return s;
}
