/* Unit tests for src/node/config.c (protocol.md §11): defaults, full file, every error names file,
 * line and key, write_default round trip and no-overwrite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char tmpdir[256];
static char cfg_path[512];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sbcfg.XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(cfg_path, sizeof cfg_path, "%s/sleetbubble.toml", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(cfg_path);
    rmdir(tmpdir);
    return 0;
}

static void write_file(const char *text)
{
    FILE *f = fopen(cfg_path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Load text as a config file; returns sb_config_load's result, err filled. */
static int load_text(const char *text, sb_config *c, char *err, size_t errlen)
{
    unlink(cfg_path);
    write_file(text);
    sb_config_defaults(c);
    err[0] = '\0';
    return sb_config_load(c, cfg_path, err, errlen);
}

/* Assert the error starts with "<file>:<line>: " and contains want. */
static void assert_error_at(const char *text, int line, const char *want)
{
    sb_config c;
    char err[512], prefix[600];
    int rc = load_text(text, &c, err, sizeof err);
    if (rc == 0)
        fail_msg("expected an error containing \"%s\", got success", want);
    snprintf(prefix, sizeof prefix, "%s:%d: ", cfg_path, line);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void defaults_match_spec(void **state)
{
    (void)state;
    sb_config c;
    sb_config_defaults(&c);
    assert_string_equal(c.home, "");
    assert_string_equal(c.abci.laddr, "tcp://127.0.0.1:26658");
    assert_int_equal(c.abci.max_frame_bytes, 64u * 1024 * 1024);
    assert_int_equal(c.abci.max_connections, 16);
    assert_string_equal(c.ipfs.api_url, "http://127.0.0.1:5001/api/v0/");
    assert_string_equal(c.ipfs.gateway_url, "http://127.0.0.1:8080");
    assert_string_equal(c.ipfs.auth_header_file, "");
    assert_int_equal(c.ipfs.timeout_seconds, 60);
    assert_int_equal(c.pin.enabled, 1);
    assert_int_equal(c.pin.concurrency, 4);
    assert_int_equal(c.pin.max_attempts, 0);
    assert_int_equal(c.pin.keep_slots, 0);
    assert_int_equal(c.pin.stall_seconds, 120);
    assert_int_equal(c.pin.max_track_bytes, 1024ull * 1024 * 1024);
    assert_string_equal(c.metrics.laddr, "127.0.0.1:26670");
    assert_int_equal(c.log.level, SB_LOG_INFO);
    assert_int_equal(c.log.json, 0);
}

static void full_file_sets_every_key(void **state)
{
    (void)state;
    sb_config c;
    char err[512];
    const char *text = "# node config\n"
                       "[abci]\n"
                       "laddr = \"unix:///run/sb/abci.sock\"  # socket\n"
                       "max_frame_bytes = 1048576\n"
                       "max_connections = 1024\n"
                       "\n"
                       "[ipfs]\n"
                       "  api_url = \"https://kubo.example:5001/api/v0/\"\n"
                       "\tgateway_url = \"http://127.0.0.1:9090\"\n"
                       "auth_header_file = \"/etc/sb/a \\\"quoted\\\" \\\\ name\"\n"
                       "timeout_seconds = 5\n"
                       "[pin]\n"
                       "enabled = false\n"
                       "concurrency = 64\n"
                       "max_attempts = 7\n"
                       "keep_slots = 100 # last hundred\n"
                       "stall_seconds = 30\n"
                       "max_track_bytes = 5000000\n"
                       "[metrics]\n"
                       "laddr = \"\"\n"
                       "[log]\n"
                       "level = \"debug\"\n"
                       "format = \"json\"\n";
    assert_int_equal(load_text(text, &c, err, sizeof err), 0);
    assert_string_equal(c.abci.laddr, "unix:///run/sb/abci.sock");
    assert_int_equal(c.abci.max_frame_bytes, 1048576);
    assert_int_equal(c.abci.max_connections, 1024);
    assert_string_equal(c.ipfs.api_url, "https://kubo.example:5001/api/v0/");
    assert_string_equal(c.ipfs.gateway_url, "http://127.0.0.1:9090");
    assert_string_equal(c.ipfs.auth_header_file, "/etc/sb/a \"quoted\" \\ name");
    assert_int_equal(c.ipfs.timeout_seconds, 5);
    assert_int_equal(c.pin.enabled, 0);
    assert_int_equal(c.pin.concurrency, 64);
    assert_int_equal(c.pin.max_attempts, 7);
    assert_int_equal(c.pin.keep_slots, 100);
    assert_int_equal(c.pin.stall_seconds, 30);
    assert_int_equal(c.pin.max_track_bytes, 5000000);
    assert_string_equal(c.metrics.laddr, "");
    assert_int_equal(c.log.level, SB_LOG_DEBUG);
    assert_int_equal(c.log.json, 1);
}

/* The defaults as sb_config_load leaves them after reading cfg_path, where [vote] key_file is
 * on line key_file_line (0 = absent): the file read and that line are recorded. */
static void loaded_defaults(sb_config *d, int key_file_line)
{
    sb_config_defaults(d);
    snprintf(d->file, sizeof d->file, "%s", cfg_path);
    d->vote.key_file_line = key_file_line;
}

static void absent_keys_keep_defaults(void **state)
{
    (void)state;
    sb_config c, d;
    char err[512];
    assert_int_equal(load_text("[pin]\nconcurrency = 2\n", &c, err, sizeof err), 0);
    loaded_defaults(&d, 0);
    d.pin.concurrency = 2;
    assert_memory_equal(&c, &d, sizeof c);
    assert_int_equal(load_text("", &c, err, sizeof err), 0);
    loaded_defaults(&d, 0);
    assert_memory_equal(&c, &d, sizeof c);
    /* [vote] key_file's line is kept for the agent's start-up messages (autovote.h) */
    assert_int_equal(load_text("[vote]\n\n# key\nkey_file = \"/k.json\"\n", &c, err, sizeof err),
                     0);
    assert_int_equal(c.vote.key_file_line, 4);
    assert_string_equal(c.file, cfg_path);
}

static void unknown_key_names_file_line_and_key(void **state)
{
    (void)state;
    assert_error_at("[abci]\nladdr = \"tcp://127.0.0.1:1\"\n\nlistn = 3\n", 4,
                    "[abci] listn: unknown key (known: laddr, max_frame_bytes, max_connections)");
}

static void unknown_section_names_file_line_and_section(void **state)
{
    (void)state;
    assert_error_at("[abci]\nmax_frame_bytes = 2048\n[pins]\nenabled = true\n", 3,
                    "[pins]: unknown section");
    /* an empty unknown section is still an error */
    assert_error_at("# x\n[rpc]\n", 2, "[rpc]: unknown section");
}

static void key_outside_section_is_rejected(void **state)
{
    (void)state;
    assert_error_at("laddr = \"tcp://a:1\"\n", 1, "laddr: key outside any [section]");
}

static void bad_int_names_key(void **state)
{
    (void)state;
    assert_error_at("[pin]\nconcurrency = 4x\n", 2, "[pin] concurrency: not a decimal integer");
    assert_error_at("[pin]\nconcurrency = -1\n", 2, "[pin] concurrency: not a decimal integer");
    assert_error_at("[pin]\nconcurrency = +3\n", 2, "[pin] concurrency: not a decimal integer");
    assert_error_at("[pin]\nconcurrency = \"4\"\n", 2, "[pin] concurrency: expected an integer");
    assert_error_at("[pin]\nconcurrency = 04\n", 2, "[pin] concurrency: leading zeros");
    assert_error_at("[pin]\nconcurrency =\n", 2, "[pin] concurrency: missing value");
}

static void out_of_range_int_names_key_and_range(void **state)
{
    (void)state;
    assert_error_at("[pin]\nconcurrency = 65\n", 2, "[pin] concurrency: 65 outside [1, 64]");
    assert_error_at("[pin]\nconcurrency = 0\n", 2, "[pin] concurrency: 0 outside [1, 64]");
    assert_error_at("[abci]\nmax_frame_bytes = 1023\n", 2,
                    "[abci] max_frame_bytes: 1023 outside [1024, 1073741824]");
    assert_error_at("[abci]\nmax_connections = 0\n", 2,
                    "[abci] max_connections: 0 outside [1, 1024]");
    assert_error_at("[abci]\n\nmax_connections = 1025\n", 3,
                    "[abci] max_connections: 1025 outside [1, 1024]");
    assert_error_at("[pin]\nmax_attempts = 4294967296\n", 2,
                    "[pin] max_attempts: 4294967296 outside");
    assert_error_at("[pin]\nkeep_slots = 99999999999999999999999\n", 2,
                    "[pin] keep_slots: 99999999999999999999999 outside");
    assert_error_at("[pin]\nkeep_slots = 9223372036854775808\n", 2, "[pin] keep_slots:");
    assert_error_at("[ipfs]\ntimeout_seconds = 0\n", 2, "[ipfs] timeout_seconds: 0 outside");
}

static void bad_bool_names_key(void **state)
{
    (void)state;
    assert_error_at("[pin]\nenabled = yes\n", 2, "[pin] enabled: expected true or false, got yes");
    assert_error_at("[pin]\nenabled = 1\n", 2, "[pin] enabled: expected true or false");
    assert_error_at("[pin]\nenabled = \"true\"\n", 2, "[pin] enabled: expected true or false");
    assert_error_at("[pin]\nenabled = True\n", 2, "[pin] enabled: expected true or false");
}

static void unterminated_string_names_key(void **state)
{
    (void)state;
    assert_error_at("[ipfs]\napi_url = \"http://127.0.0.1:5001/api/v0/\n", 2,
                    "[ipfs] api_url: unterminated string");
    assert_error_at("[ipfs]\napi_url = \"http://x\\\"\n", 2, "[ipfs] api_url: unterminated string");
}

static void string_syntax_errors_name_key(void **state)
{
    (void)state;
    assert_error_at("[ipfs]\napi_url = http://x/\n", 2,
                    "[ipfs] api_url: expected a \"quoted string\"");
    assert_error_at("[ipfs]\napi_url = 'http://x/'\n", 2, "[ipfs] api_url: single-quoted");
    assert_error_at("[ipfs]\napi_url = \"http://x/\\n\"\n", 2,
                    "[ipfs] api_url: unsupported escape \\n");
    assert_error_at("[ipfs]\napi_url = \"http://x/\" trailing\n", 2,
                    "[ipfs] api_url: unexpected text after the closing quote");
    assert_error_at("[ipfs]\nauth_header_file = \"a ;b\"\n", 2,
                    "[ipfs] auth_header_file: \";\" after a blank inside a quoted string");
}

static void duplicate_key_and_section_are_rejected(void **state)
{
    (void)state;
    assert_error_at("[pin]\nconcurrency = 2\nenabled = true\nconcurrency = 3\n", 4,
                    "[pin] concurrency: duplicate key");
    assert_error_at("[pin]\nconcurrency = 2\n[log]\nlevel = \"warn\"\n[pin]\n", 5,
                    "[pin]: duplicate section");
}

static void semantic_checks_name_key(void **state)
{
    (void)state;
    assert_error_at("[log]\nlevel = \"verbose\"\n", 2,
                    "[log] level: \"verbose\" is not one of debug, info, warn, error");
    assert_error_at("[log]\nformat = \"xml\"\n", 2,
                    "[log] format: \"xml\" is not one of plain, json");
    assert_error_at("[abci]\nladdr = \"127.0.0.1:26658\"\n", 2,
                    "[abci] laddr: must start with tcp:// or unix://");
    assert_error_at("[abci]\nladdr = \"tcp://127.0.0.1\"\n", 2, "[abci] laddr: tcp address");
    assert_error_at("[abci]\nladdr = \"unix://\"\n", 2,
                    "[abci] laddr: unix:// needs a socket path");
    assert_error_at("[ipfs]\napi_url = \"ftp://127.0.0.1:5001/\"\n", 2,
                    "[ipfs] api_url: must be an http:// or https:// URL");
    assert_error_at("[ipfs]\ngateway_url = \"http://\"\n", 2,
                    "[ipfs] gateway_url: must be an http://");
    assert_error_at("[metrics]\nladdr = \"127.0.0.1\"\n", 2, "[metrics] laddr: expected HOST:PORT");
    assert_error_at("[metrics]\nladdr = \"127.0.0.1:70000\"\n", 2, "[metrics] laddr: port must be");
}

/* [web] (protocol.md §14): defaults, every key set, "" turns the server and the streams off,
 * bad values named by file:line and key. */
static void web_section_keys(void **state)
{
    (void)state;
    sb_config c;
    char err[512];
    sb_config_defaults(&c);
    assert_string_equal(c.web.laddr, "127.0.0.1:26680");
    assert_string_equal(c.web.station_name, "Sleetbubble");
    assert_string_equal(c.web.stream_url, "http://127.0.0.1:8000/sleetbubble.ogg");
    assert_string_equal(c.web.stream_url_mp3, "http://127.0.0.1:8000/sleetbubble.mp3");
    assert_int_equal(
        load_text("[web]\nladdr = \"127.0.0.1:24001\"\nstation_name = \"Radio \\\"Sleet\\\"\"\n"
                  "stream_url = \"https://radio.example/s.ogg\"\n"
                  "stream_url_mp3 = \"http://[::1]:8000/s.mp3\"\n",
                  &c, err, sizeof err),
        0);
    assert_string_equal(c.web.laddr, "127.0.0.1:24001");
    assert_string_equal(c.web.station_name, "Radio \"Sleet\"");
    assert_string_equal(c.web.stream_url, "https://radio.example/s.ogg");
    assert_string_equal(c.web.stream_url_mp3, "http://[::1]:8000/s.mp3");
    assert_int_equal(load_text("[web]\nladdr = \"\"\nstream_url = \"\"\nstream_url_mp3 = \"\"\n",
                               &c, err, sizeof err),
                     0);
    assert_string_equal(c.web.laddr, "");
    assert_string_equal(c.web.stream_url, "");
    assert_string_equal(c.web.stream_url_mp3, "");
    assert_error_at("[web]\nladdr = \"127.0.0.1\"\n", 2, "[web] laddr: expected HOST:PORT");
    assert_error_at("[web]\n\nladdr = \"127.0.0.1:99999\"\n", 3, "[web] laddr: port must be");
    assert_error_at("[web]\nstream_url = \"icecast://x/y\"\n", 2,
                    "[web] stream_url: must be an http:// or https:// URL");
    assert_error_at("[web]\nstream_url_mp3 = \"http://\"\n", 2,
                    "[web] stream_url_mp3: must be an http:// or https:// URL");
    assert_error_at("[web]\nstation = \"x\"\n", 2, "[web] station: unknown key");
    assert_error_at("[web]\n[web]\n", 2, "[web]: duplicate section");
}

static void too_long_value_names_key(void **state)
{
    (void)state;
    char text[400], word[120];
    /* Every string field but the enums holds more than a line can carry; the enums hold 63. */
    memset(word, 'v', 100);
    word[100] = '\0';
    snprintf(text, sizeof text, "[log]\nlevel = \"%s\"\n", word);
    assert_error_at(text, 2, "[log] level: value longer than the 63-byte limit");
}

static void over_long_line_is_rejected_not_truncated(void **state)
{
    (void)state;
    char text[600], path[400];
    memset(path, 'p', 250);
    path[250] = '\0';
    snprintf(text, sizeof text, "[ipfs]\ntimeout_seconds = 9\n  auth_header_file = \"/%s\"\n",
             path);
    assert_error_at(text, 3, "[ipfs] auth_header_file: line is 272 bytes, over the 199-byte limit");
    /* 199 bytes exactly still fits */
    sb_config c;
    char err[512];
    memset(path, 'p', 199 - 22);
    path[199 - 22] = '\0';
    snprintf(text, sizeof text, "[ipfs]\nauth_header_file = \"/%s\"\n", path);
    assert_int_equal(load_text(text, &c, err, sizeof err), 0);
    assert_int_equal(strlen(c.ipfs.auth_header_file), 199 - 22 + 1);
}

static void syntax_error_names_line(void **state)
{
    (void)state;
    assert_error_at("[pin]\nconcurrency = 2\njust words\n", 3, "syntax error");
    assert_error_at("[pin\nconcurrency = 2\n", 1, "syntax error");
}

static void colon_delimiter_is_rejected(void **state)
{
    (void)state;
    assert_error_at("[pin]\nconcurrency: 3\n", 2,
                    "[pin] concurrency: expected \"=\" after the key");
}

static void crlf_bom_and_comments_are_accepted(void **state)
{
    (void)state;
    sb_config c;
    char err[512];
    assert_int_equal(load_text("\xEF\xBB\xBF[log]\r\n; ini comment\r\n# toml comment\r\n"
                               "level = \"warn\" ; trailing\r\n[pin] # section comment\r\n"
                               "concurrency = 8 # eight\r\nenabled = true#x\r\n",
                               &c, err, sizeof err),
                     0);
    assert_int_equal(c.log.level, SB_LOG_WARN);
    assert_int_equal(c.pin.concurrency, 8);
    assert_int_equal(c.pin.enabled, 1);
    /* BOM before an unknown section still reports it */
    assert_error_at("\xEF\xBB\xBF[nope]\n", 1, "[nope]: unknown section");
}

static void missing_file_is_reported(void **state)
{
    (void)state;
    sb_config c;
    char err[512], want[600];
    unlink(cfg_path);
    sb_config_defaults(&c);
    assert_int_equal(sb_config_load(&c, cfg_path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot open: %s", cfg_path, strerror(ENOENT));
    assert_string_equal(err, want);
}

/* [node] sig_cache_entries: default, a value, 0 (off) and the upper bound. */
static void node_sig_cache_entries(void **state)
{
    (void)state;
    sb_config c;
    char err[512];
    sb_config_defaults(&c);
    assert_int_equal(c.node.sig_cache_entries, SB_CONFIG_DEFAULT_SIG_CACHE_ENTRIES);
    FILE *f = fopen(cfg_path, "w");
    assert_non_null(f);
    fputs("[node]\nsig_cache_entries = 0\n", f);
    fclose(f);
    assert_int_equal(sb_config_load(&c, cfg_path, err, sizeof err), 0);
    assert_int_equal(c.node.sig_cache_entries, 0);
    assert_error_at("[node]\nsig_cache_entries = 16777217\n", 2,
                    "[node] sig_cache_entries: 16777217 outside [0, 16777216]");
}

static void first_error_wins(void **state)
{
    (void)state;
    assert_error_at("[pin]\nenabled = maybe\nconcurrency = 99\n", 2, "[pin] enabled");
}

static void write_default_round_trips_to_defaults(void **state)
{
    (void)state;
    sb_config c, d;
    char err[512];
    FILE *f;
    char line[512];
    unlink(cfg_path);
    assert_int_equal(sb_config_write_default(cfg_path, err, sizeof err), 0);
    /* Every key is written with a comment above it. */
    f = fopen(cfg_path, "r");
    assert_non_null(f);
    int keys = 0, comments_before_keys = 0;
    char prev[512] = "";
    while (fgets(line, sizeof line, f)) {
        assert_true(strlen(line) <= SB_CONFIG_LINE_MAX + 1);
        if (line[0] != '#' && line[0] != '[' && strchr(line, '=')) {
            keys++;
            if (prev[0] == '#')
                comments_before_keys++;
        }
        snprintf(prev, sizeof prev, "%s", line);
    }
    fclose(f);
    assert_int_equal(keys, 31);
    assert_int_equal(comments_before_keys, 31);
    /* Loading it gives the defaults exactly (and records the file and key_file's line). */
    loaded_defaults(&d, 0);
    memset(&c, 0x5a, sizeof c);
    sb_config_defaults(&c);
    c.pin.concurrency = 33; /* must be overwritten by the file */
    c.log.level = SB_LOG_ERROR;
    assert_int_equal(sb_config_load(&c, cfg_path, err, sizeof err), 0);
    d.vote.key_file_line = c.vote.key_file_line;
    assert_memory_equal(&c, &d, sizeof c);
}

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void vote_defaults_and_every_key(void **state)
{
    (void)state;
    sb_config c;
    char err[512];
    sb_config_defaults(&c);
    assert_int_equal(c.vote.enabled, 0);
    assert_string_equal(c.vote.node_rpc, "http://127.0.0.1:26657");
    assert_int_equal(c.vote.lead_seconds, 60);
    assert_int_equal(c.vote.policy, 0);
    assert_int_equal(c.vote.n_curators, 0);
    assert_int_equal(c.vote.require_available, 1);
    assert_int_equal(c.vote.dry_run, 0);
    assert_string_equal(c.vote.journal_file, "");
    assert_int_equal(load_text("[vote]\nenabled = true\nkey_file = \"/k/vote.json\"\n"
                               "node_rpc = \"http://127.0.0.1:24201\"\nlead_seconds = 7\n"
                               "policy = \"priority\"\ncurators = [\"" HEX_A "\"]\n"
                               "require_available = false\navailable_timeout_seconds = 3\n"
                               "dry_run = true\njournal_file = \"/j\"\n",
                               &c, err, sizeof err),
                     0);
    assert_int_equal(c.vote.enabled, 1);
    assert_string_equal(c.vote.key_file, "/k/vote.json");
    assert_string_equal(c.vote.node_rpc, "http://127.0.0.1:24201");
    assert_int_equal(c.vote.lead_seconds, 7);
    assert_int_equal(c.vote.policy, 1);
    assert_int_equal(c.vote.n_curators, 1);
    assert_int_equal(c.vote.curators[0][0], 0xaa);
    assert_int_equal(c.vote.require_available, 0);
    assert_int_equal(c.vote.available_timeout_seconds, 3);
    assert_int_equal(c.vote.dry_run, 1);
    assert_string_equal(c.vote.journal_file, "/j");
}

static void vote_curators_span_lines_in_order(void **state)
{
    (void)state;
    sb_config c;
    char err[512];
    assert_int_equal(load_text("[vote]\ncurators = [   # priority order\n  \"" HEX_B "\",\n"
                               "  # a comment line\n\n  \"" HEX_C "\",\n  \"" HEX_A
                               "\", # last\n]\ndry_run = true\n",
                               &c, err, sizeof err),
                     0);
    assert_int_equal(c.vote.n_curators, 3);
    assert_int_equal(c.vote.curators[0][0], 0x01);
    assert_int_equal(c.vote.curators[0][31], 0xef);
    assert_int_equal(c.vote.curators[0][14], 0xcd); /* upper-case hex accepted */
    assert_int_equal(c.vote.curators[1][0], 0xcc);
    assert_int_equal(c.vote.curators[2][0], 0xaa);
    assert_int_equal(c.vote.dry_run, 1);
    /* a line after a multi-line array is still counted right */
    assert_error_at("[vote]\ncurators = [\n\"" HEX_A "\",\n]\nbogus = 1\n", 5,
                    "[vote] bogus: unknown key");
    assert_int_equal(load_text("[vote]\ncurators = []\n", &c, err, sizeof err), 0);
    assert_int_equal(c.vote.n_curators, 0);
}

static void vote_bad_values_name_file_line_and_key(void **state)
{
    (void)state;
    assert_error_at("[vote]\nenabled = true\n", 2, "[vote] key_file: required when enabled");
    assert_error_at("[log]\n[vote]\n\npolicy = \"random\"\n", 4,
                    "[vote] policy: \"random\" is not one of follow, priority");
    assert_error_at("[vote]\nlead_seconds = 0\n", 2, "[vote] lead_seconds: 0 outside [1, 86400]");
    assert_error_at("[vote]\nnode_rpc = \"127.0.0.1:26657\"\n", 2, "[vote] node_rpc: must be");
    assert_error_at("[vote]\ncurators = [\"abc\"]\n", 2,
                    "[vote] curators: element 0: not 64 hex digits");
    assert_error_at("[vote]\ncurators = [\n\"" HEX_A "\",\n\"" HEX_A "\",\n]\n", 2,
                    "[vote] curators: element 1: listed twice");
    assert_error_at("[vote]\n\ncurators = [\n\"" HEX_A "\",\n", 3,
                    "[vote] curators: array not closed");
    assert_error_at("[vote]\ncurators = \"" HEX_A "\"\n", 2, "[vote] curators: expected an array");
    assert_error_at("[vote]\ndry_run = yes\n", 2, "[vote] dry_run: expected true or false");
}

static void write_default_refuses_to_overwrite(void **state)
{
    (void)state;
    char err[512];
    struct stat st;
    unlink(cfg_path);
    write_file("[pin]\nconcurrency = 2\n");
    assert_int_equal(sb_config_write_default(cfg_path, err, sizeof err), -1);
    assert_non_null(strstr(err, "already exists"));
    assert_non_null(strstr(err, cfg_path));
    assert_int_equal(stat(cfg_path, &st), 0);
    assert_int_equal(st.st_size, (off_t)strlen("[pin]\nconcurrency = 2\n"));
}

static void split_hostport_accepts_v4_v6_and_names(void **state)
{
    (void)state;
    char host[64], err[128];
    uint16_t port;
    assert_int_equal(
        sb_config_split_hostport("127.0.0.1:0", host, sizeof host, &port, err, sizeof err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(
        sb_config_split_hostport("[::1]:26670", host, sizeof host, &port, err, sizeof err), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 26670);
    assert_int_equal(
        sb_config_split_hostport("localhost:65535", host, sizeof host, &port, err, sizeof err), 0);
    assert_int_equal(port, 65535);
    assert_int_equal(sb_config_split_hostport("::1:80", host, sizeof host, &port, err, sizeof err),
                     -1);
    assert_int_equal(sb_config_split_hostport(":80", host, sizeof host, &port, err, sizeof err),
                     -1);
    assert_int_equal(sb_config_split_hostport("h:", host, sizeof host, &port, err, sizeof err), -1);
    assert_int_equal(
        sb_config_split_hostport("h:123456", host, sizeof host, &port, err, sizeof err), -1);
}

static void default_home_prefers_env(void **state)
{
    (void)state;
    char out[256];
    setenv("SLEETBUBBLE_HOME", "/srv/sb", 1);
    assert_int_equal(sb_config_default_home(out, sizeof out), 0);
    assert_string_equal(out, "/srv/sb");
    unsetenv("SLEETBUBBLE_HOME");
    setenv("HOME", "/home/op", 1);
    assert_int_equal(sb_config_default_home(out, sizeof out), 0);
    assert_string_equal(out, "/home/op/.sleetbubble");
    assert_int_equal(sb_config_default_home(out, 5), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_spec),
        cmocka_unit_test(full_file_sets_every_key),
        cmocka_unit_test(absent_keys_keep_defaults),
        cmocka_unit_test(unknown_key_names_file_line_and_key),
        cmocka_unit_test(unknown_section_names_file_line_and_section),
        cmocka_unit_test(key_outside_section_is_rejected),
        cmocka_unit_test(bad_int_names_key),
        cmocka_unit_test(out_of_range_int_names_key_and_range),
        cmocka_unit_test(bad_bool_names_key),
        cmocka_unit_test(unterminated_string_names_key),
        cmocka_unit_test(string_syntax_errors_name_key),
        cmocka_unit_test(duplicate_key_and_section_are_rejected),
        cmocka_unit_test(semantic_checks_name_key),
        cmocka_unit_test(too_long_value_names_key),
        cmocka_unit_test(over_long_line_is_rejected_not_truncated),
        cmocka_unit_test(syntax_error_names_line),
        cmocka_unit_test(colon_delimiter_is_rejected),
        cmocka_unit_test(crlf_bom_and_comments_are_accepted),
        cmocka_unit_test(missing_file_is_reported),
        cmocka_unit_test(first_error_wins),
        cmocka_unit_test(node_sig_cache_entries),
        cmocka_unit_test(write_default_round_trips_to_defaults),
        cmocka_unit_test(web_section_keys),
        cmocka_unit_test(write_default_refuses_to_overwrite),
        cmocka_unit_test(vote_defaults_and_every_key),
        cmocka_unit_test(vote_curators_span_lines_in_order),
        cmocka_unit_test(vote_bad_values_name_file_line_and_key),
        cmocka_unit_test(split_hostport_accepts_v4_v6_and_names),
        cmocka_unit_test(default_home_prefers_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
