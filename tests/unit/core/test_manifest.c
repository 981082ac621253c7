/* test_manifest.c — canonical DAG-JSON manifest (protocol.md §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "manifest.h"

static void manifest_sorts_keys_and_escapes_only_quote_and_backslash(void **state)
{
    uint8_t pub[32], id[32];
    memset(pub, 0xab, 32);
    memset(id, 0x01, 32);
    Sleetbubble__V1__Track t1 = SLEETBUBBLE__V1__TRACK__INIT, t2 = SLEETBUBBLE__V1__TRACK__INIT;
    t1.cid = "bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se";
    t1.duration_ms = 183000;
    t1.title = "Say \"hi\" \\ bye";
    t1.artist = "Bj\xc3\xb6rk </script>";
    t2.cid = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
    t2.duration_ms = 1;
    Sleetbubble__V1__Track *tp[2] = { &t1, &t2 };
    Sleetbubble__V1__Playlist pl = SLEETBUBBLE__V1__PLAYLIST__INIT;
    pl.n_tracks = 2;
    pl.tracks = tp;
    Sleetbubble__V1__ProposalBody b = SLEETBUBBLE__V1__PROPOSAL_BODY__INIT;
    b.chain_id = "c";
    b.slot = 18446744073709551615ULL;
    b.curator_pubkey.data = pub;
    b.curator_pubkey.len = 32;
    b.playlist = &pl;
    b.note = "notes are not in the manifest";
    sb_buf m;
    sb_buf_init(&m, 4096);
    assert_int_equal(sb_manifest_build(&b, id, &m), 0);
    const char *want =
        "{\"chain_id\":\"c\",\"curator\":\"abababababababababababababababababababababababababababab"
        "abababab\",\"proposal_id\":\"0101010101010101010101010101010101010101010101010101010101"
        "010101\",\"slot\":18446744073709551615,\"tracks\":[{\"artist\":\"Bj\xc3\xb6rk "
        "</script>\",\"cid\":{\"/"
        "\":\"bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se\"},"
        "\"duration_ms\":183000,\"title\":\"Say \\\"hi\\\" \\\\ "
        "bye\"},{\"artist\":\"\",\"cid\":{\"/"
        "\":\"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG\"},\"duration_ms\":1,\"title\":\"\"}]"
        "}";
    assert_int_equal(m.len, strlen(want));
    assert_memory_equal(m.data, want, m.len);
    sb_buf_free(&m);
}

static void manifest_fails_cleanly_when_the_buffer_cap_is_hit(void **state)
{
    uint8_t pub[32] = { 0 }, id[32] = { 0 };
    Sleetbubble__V1__ProposalBody b = SLEETBUBBLE__V1__PROPOSAL_BODY__INIT;
    b.chain_id = "chain";
    b.curator_pubkey.data = pub;
    b.curator_pubkey.len = 32;
    sb_buf m;
    sb_buf_init(&m, 50);
    assert_int_equal(sb_manifest_build(&b, id, &m), -1);
    sb_buf_free(&m);
    b.curator_pubkey.len = 31;
    sb_buf_init(&m, 4096);
    assert_int_equal(sb_manifest_build(&b, id, &m), -1);
    sb_buf_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manifest_sorts_keys_and_escapes_only_quote_and_backslash),
        cmocka_unit_test(manifest_fails_cleanly_when_the_buffer_cap_is_hit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
