/* test_autovote_key.c — the vote agent's key file (protocol.md §15 key_file): a `sleetbubble
 * keys new` file and CometBFT's priv_validator_key.json both load to the same seed and
 * public key; a file whose public key does not match its seed, or that is neither format,
 * is refused with a message naming the file. sb_autovote_start (the daemon calls it before
 * its ABCI server listens) refuses a missing or garbage key file naming the config file, the
 * line of key_file and the key file, and refuses a second agent on a journal whose lock the
 * first holds. The started agents poll http://127.0.0.1:1 (nothing listens: connection
 * refused) and never reach a chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "autovote.h"
#include "config.h"
#include "ed25519.h"
#include "sb_buf.h"

static char path[256];

static void write_text(const char *t)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(t, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sbkey.XXXXXX", b && b[0] ? b : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}
static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void both_formats_load_the_same_key(void **state)
{
    uint8_t seed[32], pub[32], s2[32], p2[32], both[64];
    char text[1024], sh[65], ph[65], b64[100], err[512];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(3 * i + 1);
    assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
    sb_hex(seed, 32, sh);
    sb_hex(pub, 32, ph);
    snprintf(text, sizeof text, "{\"name\":\"vk\",\"pubkey\":\"%s\",\"seed\":\"%s\"}", ph, sh);
    write_text(text);
    assert_int_equal(sb_autovote_load_key(path, s2, p2, err, sizeof err), 0);
    assert_memory_equal(s2, seed, 32);
    assert_memory_equal(p2, pub, 32);
    memcpy(both, seed, 32);
    memcpy(both + 32, pub, 32);
    assert_int_equal(EVP_EncodeBlock((unsigned char *)b64, both, 64), 88);
    snprintf(
        text, sizeof text,
        "{\"address\":\"00\",\"pub_key\":{\"type\":\"tendermint/PubKeyEd25519\",\"value\":\"x\"},"
        "\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"%s\"}}",
        b64);
    write_text(text);
    memset(s2, 0, 32);
    assert_int_equal(sb_autovote_load_key(path, s2, p2, err, sizeof err), 0);
    assert_memory_equal(s2, seed, 32);
    assert_memory_equal(p2, pub, 32);
}

static void mismatched_or_unknown_files_are_refused(void **state)
{
    uint8_t s[32], p[32];
    char err[512];
    write_text("{\"pubkey\":\""
               "00000000000000000000000000000000000000000000000000000000000000aa"
               "\",\"seed\":\"0101010101010101010101010101010101010101010101010101010101010101\"}");
    assert_int_equal(sb_autovote_load_key(path, s, p, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "pubkey"));
    write_text("{\"hello\":1}");
    assert_int_equal(sb_autovote_load_key(path, s, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "seed"));
    write_text("not json");
    assert_int_equal(sb_autovote_load_key(path, s, p, err, sizeof err), -1);
    assert_int_equal(sb_autovote_load_key("/nonexistent/vk.json", s, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));
}

/* A sleetbubble.toml in $TMPDIR whose [vote] key_file (line 4) is kf; loaded into *c. */
static void load_config(sb_config *c, const char *cfgpath, const char *kf)
{
    char text[1024], err[512];
    FILE *f = fopen(cfgpath, "w");
    assert_non_null(f);
    snprintf(text, sizeof text,
             "[vote]\nenabled = true\n# the key\nkey_file = \"%s\"\n"
             "node_rpc = \"http://127.0.0.1:1\"\n",
             kf);
    fputs(text, f);
    fclose(f);
    sb_config_defaults(c);
    assert_int_equal(sb_config_load(c, cfgpath, err, sizeof err), 0);
    assert_int_equal(c->vote.key_file_line, 4);
    snprintf(c->home, sizeof c->home, "%s", "/nonexistent-home");
}

static void bad_key_files_refuse_the_start_naming_file_line_and_key(void **state)
{
    char cfgpath[300], want[1024], err[1024];
    static sb_config c;
    snprintf(cfgpath, sizeof cfgpath, "%s.toml", path);
    load_config(&c, cfgpath, "/nonexistent/vk.json");
    assert_null(sb_autovote_start(&c, err, sizeof err));
    snprintf(want, sizeof want,
             "%s:4: [vote] key_file /nonexistent/vk.json: cannot open: ", cfgpath);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    write_text("garbage, not a key");
    load_config(&c, cfgpath, path);
    assert_null(sb_autovote_start(&c, err, sizeof err));
    snprintf(want, sizeof want, "%s:4: [vote] key_file %s: not a JSON object", cfgpath, path);
    assert_string_equal(err, want);
    unlink(cfgpath);
}

static void a_second_agent_on_the_same_journal_is_refused(void **state)
{
    char cfgpath[300], journal[300], want[1024], err[1024], text[256], sh[65], ph[65];
    static sb_config c;
    uint8_t seed[32], pub[32];
    sb_autovote *a, *b;
    memset(seed, 0x42, 32);
    assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
    sb_hex(seed, 32, sh);
    sb_hex(pub, 32, ph);
    snprintf(text, sizeof text, "{\"pubkey\":\"%s\",\"seed\":\"%s\"}", ph, sh);
    write_text(text);
    snprintf(cfgpath, sizeof cfgpath, "%s.toml", path);
    snprintf(journal, sizeof journal, "%s.journal", path);
    load_config(&c, cfgpath, path);
    snprintf(c.vote.journal_file, sizeof c.vote.journal_file, "%s", journal);
    a = sb_autovote_start(&c, err, sizeof err);
    assert_non_null(a);
    b = sb_autovote_start(&c, err, sizeof err);
    assert_null(b);
    snprintf(want, sizeof want, "[vote] journal %s: another vote agent holds %s.lock", journal,
             journal);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    sb_autovote_stop(a); /* the lock goes with the agent */
    b = sb_autovote_start(&c, err, sizeof err);
    assert_non_null(b);
    sb_autovote_stop(b);
    unlink(cfgpath);
    snprintf(want, sizeof want, "%s.lock", journal);
    unlink(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(both_formats_load_the_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(mismatched_or_unknown_files_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_key_files_refuse_the_start_naming_file_line_and_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_agent_on_the_same_journal_is_refused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
