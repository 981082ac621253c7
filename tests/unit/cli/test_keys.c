/* test_keys.c — CLI key files (0600, O_EXCL, seed/pubkey consistency) and CometBFT's
 * priv_validator_key.json (protocol.md §4 votes, §12). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ed25519.h"
#include "keys.h"
#include "rpc.h"
#include "sb_buf.h"

static char home[] = "/tmp/sb-cli-keys.XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(home) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : -1;
}

/* A priv_validator_key.json as CometBFT writes it, for seed[0..32). Caller frees. */
static char *pv_json(const uint8_t seed[32], const char *pub_type, const char *priv_type,
                     int corrupt)
{
    uint8_t pub[32], priv[64];
    assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
    memcpy(priv, seed, 32);
    memcpy(priv + 32, pub, 32);
    if (corrupt == 1)
        priv[40] ^= 1; /* second half not the seed's public key */
    if (corrupt == 2)
        pub[0] ^= 1; /* pub_key not matching */
    char *p64 = sb_b64_encode(pub, 32), *k64 = sb_b64_encode(priv, corrupt == 3 ? 48 : 64);
    char *out = malloc(1024);
    snprintf(out, 1024,
             "{\n  \"address\": \"0123456789ABCDEF0123456789ABCDEF01234567\",\n"
             "  \"pub_key\": {\n    \"type\": \"%s\",\n    \"value\": \"%s\"\n  },\n"
             "  \"priv_key\": {\n    \"type\": \"%s\",\n    \"value\": \"%s\"\n  }\n}\n",
             pub_type, p64, priv_type, k64);
    free(p64);
    free(k64);
    return out;
}

static void priv_validator_key_gives_seed_and_consensus_pubkey(void **state)
{
    (void)state;
    uint8_t seed[32], want[32], got_seed[32], got_pub[32];
    char err[256];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i * 7 + 1);
    sb_ed25519_pubkey(seed, want);
    char *j = pv_json(seed, "tendermint/PubKeyEd25519", "tendermint/PrivKeyEd25519", 0);
    assert_int_equal(cli_keys_parse_priv_validator(j, got_seed, got_pub, err, sizeof err), 0);
    assert_memory_equal(got_seed, seed, 32);
    assert_memory_equal(got_pub, want, 32);
    free(j);
}

static void priv_validator_key_with_wrong_parts_is_refused_naming_the_field(void **state)
{
    (void)state;
    uint8_t seed[32] = { 9 }, s[32], p[32];
    char err[256];
    struct {
        const char *pt, *kt;
        int corrupt;
        const char *want;
    } cases[] = {
        { "tendermint/PubKeyEd25519", "tendermint/PrivKeyEd25519", 1, "priv_key.value" },
        { "tendermint/PubKeyEd25519", "tendermint/PrivKeyEd25519", 2, "pub_key.value" },
        { "tendermint/PubKeyEd25519", "tendermint/PrivKeyEd25519", 3,
          "priv_key.value: expected "
          "base64 of 64 bytes" },
        { "tendermint/PubKeySecp256k1", "tendermint/PrivKeyEd25519", 0, "pub_key.type" },
        { "tendermint/PubKeyEd25519", "cometbft/PrivKeyBls12_381", 0, "priv_key.type" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *j = pv_json(seed, cases[i].pt, cases[i].kt, cases[i].corrupt);
        err[0] = '\0';
        assert_int_equal(cli_keys_parse_priv_validator(j, s, p, err, sizeof err), -1);
        if (!strstr(err, cases[i].want)) {
            print_error("case %zu: \"%s\" lacks \"%s\"\n", i, err, cases[i].want);
            fail();
        }
        free(j);
    }
    assert_int_equal(cli_keys_parse_priv_validator("{}", s, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "pub_key.value: missing"));
    assert_int_equal(cli_keys_parse_priv_validator("not json", s, p, err, sizeof err), -1);
}

static void key_names_are_a_safe_file_name(void **state)
{
    (void)state;
    assert_true(cli_keys_name_ok("curator-1.main_key"));
    assert_false(cli_keys_name_ok(""));
    assert_false(cli_keys_name_ok("../evil"));
    assert_false(cli_keys_name_ok("a/b"));
    assert_false(cli_keys_name_ok(".hidden"));
    assert_false(cli_keys_name_ok("-x"));
    assert_false(cli_keys_name_ok("sp ace"));
    char n65[66];
    memset(n65, 'k', 65);
    n65[65] = '\0';
    assert_false(cli_keys_name_ok(n65));
    n65[64] = '\0';
    assert_true(cli_keys_name_ok(n65));
}

static void new_key_is_0600_loads_back_and_is_never_overwritten(void **state)
{
    (void)state;
    uint8_t pub[32], pub2[32], seed[32], derived[32];
    char err[512], path[512];
    assert_int_equal(cli_keys_new(home, "alice", pub, err, sizeof err), 0);
    assert_int_equal(cli_keys_path(home, "alice", path, sizeof path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char kdir[512];
    snprintf(kdir, sizeof kdir, "%s/keys", home);
    assert_int_equal(stat(kdir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    assert_int_equal(cli_keys_load(home, "alice", seed, pub2, err, sizeof err), 0);
    assert_memory_equal(pub, pub2, 32);
    assert_int_equal(sb_ed25519_pubkey(seed, derived), 0);
    assert_memory_equal(derived, pub, 32);

    /* second `keys new alice` fails and leaves the key alone */
    assert_int_not_equal(cli_keys_new(home, "alice", pub2, err, sizeof err), 0);
    assert_non_null(strstr(err, "already exists"));
    assert_int_equal(cli_keys_load(home, "alice", seed, pub2, err, sizeof err), 0);
    assert_memory_equal(pub, pub2, 32);

    /* two keys differ (RAND_bytes) */
    assert_int_equal(cli_keys_new(home, "bob", pub2, err, sizeof err), 0);
    assert_memory_not_equal(pub, pub2, 32);
}

static void missing_key_says_how_to_create_it(void **state)
{
    (void)state;
    uint8_t s[32], p[32];
    char err[512];
    assert_int_equal(cli_keys_load(home, "nobody", s, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "keys new nobody"));
}

static void key_file_whose_pubkey_is_not_the_seeds_is_refused(void **state)
{
    (void)state;
    uint8_t s[32], p[32];
    char err[256];
    const char *bad =
        "{\"name\":\"x\",\"seed\":\"0101010101010101010101010101010101010101010101010101010101"
        "010101\",\"pubkey\":\"0202020202020202020202020202020202020202020202020202020202020202\"}";
    assert_int_equal(cli_keys_parse(bad, s, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "pubkey"));
    assert_int_equal(cli_keys_parse("{\"seed\":\"zz\"}", s, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "seed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(priv_validator_key_gives_seed_and_consensus_pubkey),
        cmocka_unit_test(priv_validator_key_with_wrong_parts_is_refused_naming_the_field),
        cmocka_unit_test(key_names_are_a_safe_file_name),
        cmocka_unit_test(new_key_is_0600_loads_back_and_is_never_overwritten),
        cmocka_unit_test(missing_key_says_how_to_create_it),
        cmocka_unit_test(key_file_whose_pubkey_is_not_the_seeds_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
