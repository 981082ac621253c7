/* test_main.c — argument parsing and exit statuses (protocol.md §12): 2 for every usage or input
 * error (nothing sent anywhere), 3 when the node or Kubo cannot be reached, 0 for help. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "cli.h"

static char dir[] = "/tmp/sb-cli-main.XXXXXX";
static char home_opt[128], wav[256], txt[256], good_pl[256], bad_pl[256];

#define PB "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(home_opt, sizeof home_opt, "--home=%s/home", dir);
    snprintf(wav, sizeof wav, "%s/tone.wav", dir);
    snprintf(txt, sizeof txt, "%s/readme.txt", dir);
    snprintf(good_pl, sizeof good_pl, "%s/good.json", dir);
    snprintf(bad_pl, sizeof bad_pl, "%s/bad.json", dir);
    SF_INFO info = { .samplerate = 8000,
                     .channels = 1,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *sf = sf_open(wav, SFM_WRITE, &info);
    if (!sf)
        return -1;
    static short zeros[8000];
    sf_writef_short(sf, zeros, 8000);
    sf_close(sf);
    put(txt, "plain text, not audio at all; libsndfile must say so\n");
    put(good_pl, "{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":1000}]}");
    put(bad_pl, "{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":0}]}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run cli_main with a NULL-terminated argument list (argv[0] added). */
static int run(const char *first, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    argv[argc++] = (char *)"sleetbubble";
    va_start(ap, first);
    for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return cli_main(argc, argv);
}

#define X NULL
#define DEAD "--node=http://127.0.0.1:1"

static void usage_errors_exit_2(void **state)
{
    (void)state;
    assert_int_equal(run(X), 2);
    assert_int_equal(run("frobnicate", X), 2);
    assert_int_equal(run("status", "--frob", X), 2);
    assert_int_equal(run("status", "-z", X), 2);
    assert_int_equal(run("status", "--node", X), 2); /* no value */
    assert_int_equal(run("status", "--output", "xml", X), 2);
    assert_int_equal(run("status", "--timeout", "0", X), 2);
    assert_int_equal(run("status", "--timeout", "-5", X), 2);
    assert_int_equal(run("status", DEAD, DEAD, X), 2); /* given twice */
    assert_int_equal(run("status", "extra", X), 2);
    assert_int_equal(run("status", "--skip-check", X), 2);   /* not a status option */
    assert_int_equal(run("tune", "--playlist", "x", X), 2);  /* not a tune option */
    assert_int_equal(run("vote", "--skip-check=yes", X), 2); /* flag with a value */
}

static void command_argument_errors_exit_2_before_any_network_use(void **state)
{
    (void)state;
    /* DEAD would give 3 if anything were sent: 2 proves the arguments are checked first */
    assert_int_equal(run(DEAD, "keys", X), 2);
    assert_int_equal(run(DEAD, home_opt, "keys", "new", X), 2);
    assert_int_equal(run(DEAD, home_opt, "keys", "new", "../x", X), 2);
    assert_int_equal(run(DEAD, home_opt, "keys", "rotate", "a", X), 2);
    assert_int_equal(run(DEAD, home_opt, "keys", "show", "nobody", X), 2);
    assert_int_equal(run(DEAD, "tracks", X), 2);
    assert_int_equal(run(DEAD, "tracks", "add", X), 2);
    assert_int_equal(run(DEAD, "tracks", "remove", wav, X), 2);
    assert_int_equal(run(DEAD, "query", X), 2);
    assert_int_equal(run(DEAD, "query", "frob", X), 2);
    assert_int_equal(run(DEAD, "query", "winner", X), 2);
    assert_int_equal(run(DEAD, "query", "winner", "abc", X), 2);
    assert_int_equal(run(DEAD, "query", "winner", "-1", X), 2);
    assert_int_equal(run(DEAD, "query", "slot", "18446744073709551616", X), 2);
    assert_int_equal(run(DEAD, "query", "proposal", "abcd", X), 2);
    assert_int_equal(run(DEAD, "tune", "--slot", "latest", X), 2);
    assert_int_equal(run(DEAD, "tune", "extra", X), 2);
}

static void propose_argument_errors_exit_2(void **state)
{
    (void)state;
    assert_int_equal(run(home_opt, "keys", "new", "cur", X), 0);
    assert_int_equal(run(DEAD, home_opt, "propose", "--playlist", good_pl, "--key", "cur", X), 2);
    assert_int_equal(run(DEAD, home_opt, "propose", "--slot", "1", "--key", "cur", X), 2);
    assert_int_equal(run(DEAD, home_opt, "propose", "--slot", "1", "--playlist", good_pl, X), 2);
    assert_int_equal(
        run(DEAD, home_opt, "propose", "--slot", "soon", "--playlist", good_pl, "--key", "cur", X),
        2);
    assert_int_equal(
        run(DEAD, home_opt, "propose", "--slot", "1", "--playlist", bad_pl, "--key", "cur", X), 2);
    assert_int_equal(run(DEAD, home_opt, "propose", "--slot", "1", "--playlist", "/nonexistent",
                         "--key", "cur", X),
                     2);
    assert_int_equal(
        run(DEAD, home_opt, "propose", "--slot", "1", "--playlist", good_pl, "--key", "nobody", X),
        2);
    assert_int_equal(run(DEAD, home_opt, "propose", "--slot", "1", "--playlist", good_pl, "--key",
                         "cur", "--note", "bell\a", X),
                     2);
    /* all valid: now the dead node is reached for -> 3 */
    assert_int_equal(
        run(DEAD, home_opt, "propose", "--slot", "1", "--playlist", good_pl, "--key", "cur", X), 3);
}

static void vote_argument_errors_exit_2(void **state)
{
    (void)state;
    const char *id = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const char *val = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    assert_int_equal(run(home_opt, "keys", "new", "vk", X), 0);
    assert_int_equal(run(DEAD, home_opt, "vote", "--slot", "1", X), 2);
    assert_int_equal(run(DEAD, home_opt, "vote", "--slot", "1", "--proposal", id, X), 2);
    assert_int_equal(run(DEAD, home_opt, "vote", "--proposal", id, "--vote-key", "vk", X), 2);
    assert_int_equal(run(DEAD, home_opt, "vote", "--proposal", id, "--validator", val, X), 2);
    assert_int_equal(run(DEAD, home_opt, "vote", "--proposal", id, "--vote-key", "vk",
                         "--validator", val, "--validator-key", "/x.json", X),
                     2);
    assert_int_equal(run(DEAD, home_opt, "vote", "--proposal", "1234", "--vote-key", "vk",
                         "--validator", val, X),
                     2);
    assert_int_equal(
        run(DEAD, home_opt, "vote", "--proposal", id, "--vote-key", "vk", "--validator", "beef", X),
        2);
    assert_int_equal(run(DEAD, home_opt, "vote", "--slot", "x", "--proposal", id, "--vote-key",
                         "vk", "--validator", val, X),
                     2);
    assert_int_equal(run(DEAD, home_opt, "vote", "--proposal", id, "--validator-key",
                         "/nonexistent/priv_validator_key.json", X),
                     2);
    assert_int_equal(
        run(DEAD, home_opt, "vote", "--proposal", id, "--vote-key", "vk", "--validator", val, X),
        3);
}

static void tracks_add_of_a_non_audio_file_exits_2_and_writes_nothing(void **state)
{
    (void)state;
    char out[300];
    snprintf(out, sizeof out, "%s/pl-out.json", dir);
    /* the WAV is fine but the text file is not: nothing is uploaded (the dead Kubo would give
   * 3) and nothing is written */
    assert_int_equal(run("--ipfs=http://127.0.0.1:1", "tracks", "add", wav, txt, "-o", out, X), 2);
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(run("--ipfs=http://127.0.0.1:1", "tracks", "add", "/nonexistent.ogg", X), 2);
}

static void unreachable_node_or_kubo_exits_3(void **state)
{
    (void)state;
    char out[300];
    snprintf(out, sizeof out, "%s/pl-out2.json", dir);
    assert_int_equal(run(DEAD, "status", X), 3);
    assert_int_equal(run(DEAD, "query", "params", X), 3);
    assert_int_equal(run(DEAD, "tune", X), 3);
    assert_int_equal(run(DEAD, "--output=json", "query", "winner", "3", X), 3);
    assert_int_equal(run("--ipfs=http://127.0.0.1:1/", "tracks", "add", wav, "-o", out, X), 3);
    assert_int_equal(access(out, F_OK), -1);
}

/* Capture what cli_main writes to stdout and stderr: cap_begin, run(...), cap_end. */
static int cap_saved[2] = { -1, -1 };
static char cap_path[2][300];
static void cap_begin(void)
{
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        snprintf(cap_path[i], sizeof cap_path[i], "%s/cap%d", dir, i);
        int fd = open(cap_path[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        cap_saved[i] = dup(i + 1);
        assert_true(cap_saved[i] >= 0);
        assert_int_equal(dup2(fd, i + 1), i + 1);
        close(fd);
    }
}
/* Restore stdout/stderr; out/err get what was written (NUL-terminated, truncated to n-1). */
static void cap_end(char *out, char *err, size_t n)
{
    fflush(stdout);
    fflush(stderr);
    char *dst[2] = { out, err };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(dup2(cap_saved[i], i + 1), i + 1);
        close(cap_saved[i]);
        FILE *f = fopen(cap_path[i], "r");
        assert_non_null(f);
        size_t k = fread(dst[i], 1, n - 1, f);
        dst[i][k] = '\0';
        fclose(f);
    }
}

#ifndef SB_PROJECT_VERSION
#error "SB_PROJECT_VERSION must be the project version from CMake"
#endif

static void assert_usage(const char *out)
{
    static const char *const want[] = {
        "keys new NAME | keys show NAME",
        "tracks add FILE...",
        "propose --slot N|next",
        "vote [--slot N] --proposal HEX",
        "tune [--slot N|current]",
        "query params | slot N|current | winner N | proposal ID | validators | pins N",
        "status ",
        "version | help",
        "--node URL",
        "--ipfs URL",
        "--gateway URL",
        "--home DIR",
        "--output text|json",
        "--timeout S",
        "exit status: 0 ok, 1 rejected by the chain, 2 usage or bad input, 3 node or Kubo"
    };
    static const char first[] = "usage: sleetbubble [global options] COMMAND [options]\n";
    assert_true(strncmp(out, first, sizeof first - 1) == 0);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            fail_msg("usage text lacks \"%s\"", want[i]);
}

static void help_and_version_exit_0(void **state)
{
    (void)state;
    static char out[8192], err[8192], help[8192];
    cap_begin();
    int rc = run("help", X);
    cap_end(help, err, sizeof help);
    assert_int_equal(rc, 0);
    assert_usage(help);
    assert_string_equal(err, "");

    cap_begin();
    rc = run("--help", X);
    cap_end(out, err, sizeof out);
    assert_int_equal(rc, 0);
    assert_string_equal(out, help);
    assert_string_equal(err, "");

    cap_begin();
    rc = run("status", "-h", X);
    cap_end(out, err, sizeof out);
    assert_int_equal(rc, 0);
    assert_string_equal(out, help);
    assert_string_equal(err, "");

    cap_begin();
    rc = run("version", X);
    cap_end(out, err, sizeof out);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "sleetbubble " SB_PROJECT_VERSION "\n");
    assert_string_equal(err, "");

    /* no command: the same usage, on stderr, exit 2 */
    cap_begin();
    rc = run(X);
    cap_end(out, err, sizeof out);
    assert_int_equal(rc, 2);
    assert_string_equal(out, "");
    assert_string_equal(err, help);
}

static void query_words_map_to_abci_paths(void **state)
{
    (void)state;
    char path[128];
    char *a1[] = { "params" }, *a2[] = { "winner", "0042" }, *a3[] = { "slot", "current" },
         *a4[] = { "proposal", "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF" },
         *a5[] = { "pins", "7" }, *a6[] = { "validators" };
    assert_int_equal(cli_query_path(a1, 1, path, sizeof path), 0);
    assert_string_equal(path, "/params");
    assert_int_equal(cli_query_path(a2, 2, path, sizeof path), 0);
    assert_string_equal(path, "/winner/42");
    assert_int_equal(cli_query_path(a3, 2, path, sizeof path), 0);
    assert_string_equal(path, "/slot/current");
    assert_int_equal(cli_query_path(a4, 2, path, sizeof path), 0);
    assert_string_equal(
        path, "/proposal/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    assert_int_equal(cli_query_path(a5, 2, path, sizeof path), 0);
    assert_string_equal(path, "/pins/7");
    assert_int_equal(cli_query_path(a6, 1, path, sizeof path), 0);
    assert_string_equal(path, "/validators");
    assert_int_equal(cli_query_path(a6, 0, path, sizeof path), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_errors_exit_2),
        cmocka_unit_test(command_argument_errors_exit_2_before_any_network_use),
        cmocka_unit_test(propose_argument_errors_exit_2),
        cmocka_unit_test(vote_argument_errors_exit_2),
        cmocka_unit_test(tracks_add_of_a_non_audio_file_exits_2_and_writes_nothing),
        cmocka_unit_test(unreachable_node_or_kubo_exits_3),
        cmocka_unit_test(help_and_version_exit_0),
        cmocka_unit_test(query_words_map_to_abci_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
