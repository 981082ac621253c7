/* test_kubo_real.c - the Kubo client and the pin worker against a REAL Kubo (protocol.md §10).
 *
 * The test starts `ipfs daemon` itself in a temporary test-profile repo on fixed loopback
 * ports (API 23801, gateway 23802, swarm 23803), --offline where a missing block should fail
 * at once and online with no peers where a pin must hang (stall tests). Every daemon is
 * started with PR_SET_PDEATHSIG and stopped by pid in teardown, atexit and on SIGINT/SIGTERM.
 * The auth header is tested against a real Kubo with API.Authorizations (200 / 403). The
 * X-Stream-Error trailer comes from real Kubo too: a pin/add with a `timeout` option ends
 * that way, and a small relay adds the option our client never sends. A fake HTTP endpoint
 * on loopback stands in for Kubo in one case only, which real Kubo cannot produce: a
 * block/put answering with a CID other than the one its bytes hash to.
 * The worker runs over a temporary consensus database created by sb_store_open (the store's
 * schema); the test writes slots / proposals rows as Commit would, and reads the worker's
 * progress from its own file (pins.db). Without `ipfs` on PATH (source scripts/env.sh) the
 * test FAILS, unless SB_ALLOW_SKIP=1 (never set in CI) lets it skip, saying so. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "cid.h"
#include "config.h"
#include "kubo.h"
#include "log.h"
#include "metrics.h"
#include "pin.h"
#include "sleetbubble/v1/tx.pb-c.h"
#include "pin_store.h"
#include "store.h"

#define API_PORT 23801
#define GW_PORT 23802
#define SWARM_PORT 23803
#define API_URL "http://127.0.0.1:23801/api/v0/"

static char tmpdir[256];
static char repo[300];
static volatile pid_t kubo_pid = -1;
static int kubo_offline = -1;
/* While the daemon runs with API.Authorizations: the header the test's own checks send. */
static const char *kubo_auth = NULL;

/* ---- processes ------------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Run argv (PATH lookup), stdout into out[0..outlen) if out, stderr to the log. Returns the
 * exit status, or -1. */
static int run(char *const argv[], char *out, size_t outlen)
{
    int fd[2];
    if (pipe(fd) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char logp[400];
        snprintf(logp, sizeof(logp), "%s/cmd.log", tmpdir);
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd[1], 1);
        if (lf >= 0)
            dup2(lf, 2);
        close(fd[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    char sink[512];
    while (1) {
        if (out && n + 1 < outlen)
            r = read(fd[0], out + n, outlen - 1 - n);
        else
            r = read(fd[0], sink, sizeof(sink));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (out && n + 1 < outlen)
            n += (size_t)r;
    }
    close(fd[0]);
    if (out) {
        out[n] = '\0';
        while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
            out[--n] = '\0';
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void kubo_stop(void)
{
    pid_t pid = kubo_pid;
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            kubo_pid = -1;
            return;
        }
        sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    kubo_pid = -1;
}

static void on_signal(int sig)
{
    if (kubo_pid > 0)
        kill(kubo_pid, SIGKILL);
    _exit(128 + sig);
}

static int port_in_use(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int used = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return used;
}

static int kubo_healthy(void)
{
    char err[128];
    sb_kubo_opts o = { .api_url = API_URL, .auth_header = kubo_auth, .timeout_seconds = 2 };
    sb_kubo *k = sb_kubo_new(&o, err, sizeof(err));
    sb_kubo_err e;
    int ok = k && sb_kubo_health(k, &e) == SB_KUBO_OK;
    sb_kubo_free(k);
    return ok;
}

/* Start the daemon (offline or online-without-peers); no-op if already in that mode. */
static void kubo_start(int offline)
{
    if (kubo_pid > 0 && kubo_offline == offline)
        return;
    kubo_stop();
    if (port_in_use(API_PORT))
        fail_msg("port %d already in use: another Kubo? stop it first", API_PORT);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char logp[400];
        snprintf(logp, sizeof(logp), "%s/kubo.log", tmpdir);
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lf >= 0) {
            dup2(lf, 1);
            dup2(lf, 2);
        }
        if (offline)
            execlp("ipfs", "ipfs", "daemon", "--offline", (char *)NULL);
        else
            execlp("ipfs", "ipfs", "daemon", (char *)NULL);
        _exit(127);
    }
    kubo_pid = pid;
    kubo_offline = offline;
    int64_t deadline = mono_ms() + 60000;
    while (!kubo_healthy()) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            kubo_pid = -1;
            fail_msg("ipfs daemon exited at start (see %s/kubo.log)", tmpdir);
        }
        if (mono_ms() > deadline)
            fail_msg("ipfs daemon not answering after 60 s (see %s/kubo.log)", tmpdir);
        sleep_ms(200);
    }
}

static int ipfs_cfg(const char *key, const char *json)
{
    char *argv[] = { "ipfs", "config", "--json", (char *)key, (char *)json, NULL };
    return run(argv, NULL, 0);
}

/* Restart the daemon (offline) with API.Authorizations = one bearer token; `header` is what a
 * client must send ("Authorization: Bearer <token>"). kubo_start_noauth() undoes it. */
static void kubo_start_auth(const char *token, const char *header)
{
    char json[256];
    kubo_stop();
    snprintf(json, sizeof(json),
             "{\"sb-test\":{\"AuthSecret\":\"bearer:%s\",\"AllowedPaths\":[\"/api/v0\"]}}", token);
    assert_int_equal(ipfs_cfg("API.Authorizations", json), 0);
    kubo_auth = header;
    kubo_start(1);
}

static void kubo_start_noauth(void)
{
    kubo_stop();
    kubo_auth = NULL;
    assert_int_equal(ipfs_cfg("API.Authorizations", "{}"), 0);
}

/* Add `n` random bytes as a file (not pinned); CID into cid: CIDv1 with raw leaves, or a
 * CIDv0 ("Qm…") if v0. */
static void add_random_file_v(size_t n, char *cid, size_t cidlen, int v0)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/f.bin", tmpdir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t buf[4096];
    for (size_t left = n; left;) {
        size_t k = left < sizeof(buf) ? left : sizeof(buf);
        assert_int_equal(getrandom(buf, k, 0), (ssize_t)k);
        assert_int_equal(fwrite(buf, 1, k, f), k);
        left -= k;
    }
    fclose(f);
    char *argv[] = { "ipfs", "add", "-q", "--pin=false", v0 ? "--cid-version=0" : "--cid-version=1",
                     path,   NULL };
    assert_int_equal(run(argv, cid, cidlen), 0);
    assert_true(strlen(cid) > 10);
    if (v0)
        assert_int_equal(strncmp(cid, "Qm", 2), 0);
}

static void add_random_file(size_t n, char *cid, size_t cidlen)
{
    add_random_file_v(n, cid, cidlen, 0);
}

/* A valid CIDv1 (raw) of random bytes: nobody has it. */
static void unknown_cid(char *cid, size_t cidlen)
{
    uint8_t bin[36] = { 0x01, 0x55, 0x12, 0x20 };
    assert_int_equal(getrandom(bin + 4, 32, 0), 32);
    assert_int_equal(sb_cid_to_string(bin, sizeof(bin), cid, cidlen), 0);
}

/* ---- a Kubo client for checks --------------------------------------------------------- */

static sb_kubo *client(const char *url, const char *auth, uint32_t timeout)
{
    char err[256];
    sb_kubo_opts o = { .api_url = url,
                       .auth_header = auth ? auth : kubo_auth,
                       .timeout_seconds = timeout };
    sb_kubo *k = sb_kubo_new(&o, err, sizeof(err));
    if (!k)
        fail_msg("sb_kubo_new: %s", err);
    return k;
}

typedef struct find_ctx {
    const char *cid;
    int found;
} find_ctx;

static int find_cb(void *arg, const char *cid)
{
    find_ctx *f = arg;
    if (strcmp(f->cid, cid) == 0)
        f->found = 1;
    return 0;
}

/* 1 if Kubo pins cid with `type` ("recursive" / "direct"). */
static int kubo_pinned(const char *cid, const char *type)
{
    sb_kubo *k = client(API_URL, NULL, 10);
    find_ctx f = { cid, 0 };
    sb_kubo_err e;
    int rc = sb_kubo_pin_ls(k, type, 10, find_cb, &f, &e);
    sb_kubo_free(k);
    if (rc != SB_KUBO_OK)
        fail_msg("pin/ls: %s", e.msg);
    return f.found;
}

/* ---- the database ----------------------------------------------------------------------- */

typedef struct fx {
    char db_path[400];
    char pins_path[400];
    sqlite3 *db;  /* the consensus database, written as Commit would */
    sqlite3 *pdb; /* the worker's pins.db, read by the checks */
    sb_config cfg;
    sb_pin *pin;
} fx;

static int db_seq;

static void fx_db(fx *f)
{
    char err[256];
    sb_store *st = NULL;
    snprintf(f->db_path, sizeof(f->db_path), "%s/state-%d.db", tmpdir, ++db_seq);
    snprintf(f->pins_path, sizeof(f->pins_path), "%s/pins-%d.db", tmpdir, db_seq);
    if (sb_store_open(f->db_path, &st, err, sizeof(err)) < 0)
        fail_msg("sb_store_open: %s", err);
    sb_store_close(st);
    assert_int_equal(sqlite3_open(f->db_path, &f->db), SQLITE_OK);
    sqlite3_busy_timeout(f->db, 10000);
    sb_config_defaults(&f->cfg);
    snprintf(f->cfg.ipfs.api_url, sizeof(f->cfg.ipfs.api_url), "%s", API_URL);
    f->cfg.ipfs.timeout_seconds = 20;
    f->cfg.pin.concurrency = 2;
    f->cfg.pin.stall_seconds = 3;
    f->cfg.pin.max_attempts = 0;
}

static void fx_start(fx *f)
{
    char err[512];
    f->pin = sb_pin_start(&f->cfg, f->db_path, f->pins_path, err, sizeof(err));
    if (!f->pin)
        fail_msg("sb_pin_start: %s", err);
}

static void fx_stop(fx *f)
{
    sb_pin_stop(f->pin);
    f->pin = NULL;
}

static int teardown_fx(void **state)
{
    fx *f = *state;
    if (f) {
        fx_stop(f);
        sqlite3_close(f->db);
        sqlite3_close(f->pdb);
        unlink(f->db_path);
        unlink(f->pins_path);
        free(f);
    }
    *state = NULL;
    return 0;
}

static int setup_fx(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fx_db(f);
    *state = f;
    return 0;
}

static void sql(fx *f, const char *q)
{
    char *msg = NULL;
    if (sqlite3_exec(f->db, q, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", q, msg ? msg : "?");
}

/* A finalized winner as Commit writes it: proposals + slots rows (the worker ingests them).
 * outcome 3 (REPEAT) copies the record of slot `copy_of` (manifest bytes not stored). Writes
 * the manifest CID string. */
static void add_winner(fx *f, int64_t slot, int outcome, int64_t copy_of, const char **tracks,
                       size_t n, char *mcid, size_t mcidlen)
{
    sqlite3_stmt *s;
    if (outcome == 3) {
        assert_int_equal(
            sqlite3_prepare_v2(
                f->db,
                "INSERT INTO slots (slot, outcome, proposal_id, power_for, total, manifest_cid, "
                "manifest, height) SELECT ?, 3, proposal_id, 0, 10, manifest_cid, NULL, 1 "
                "FROM slots WHERE slot = ?",
                -1, &s, NULL),
            SQLITE_OK);
        sqlite3_bind_int64(s, 1, slot);
        sqlite3_bind_int64(s, 2, copy_of);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        assert_int_equal(sqlite3_changes(f->db), 1);
        sqlite3_finalize(s);
        if (f->pin)
            sb_pin_notify(f->pin, slot);
        return;
    }
    uint8_t pid[32] = { 0 };
    pid[0] = (uint8_t)slot;
    pid[31] = 0xaa;
    Sleetbubble__V1__Track tr[16], *tp[16];
    Sleetbubble__V1__Playlist pl = SLEETBUBBLE__V1__PLAYLIST__INIT;
    Sleetbubble__V1__ProposalBody body = SLEETBUBBLE__V1__PROPOSAL_BODY__INIT;
    char manifest[4096];
    size_t ml = 0;
    assert_true(n <= 16);
    ml += (size_t)snprintf(manifest + ml, sizeof(manifest) - ml, "{\"slot\":%lld,\"tracks\":[",
                           (long long)slot);
    for (size_t i = 0; i < n; i++) {
        sleetbubble__v1__track__init(&tr[i]);
        tr[i].cid = (char *)tracks[i];
        tr[i].duration_ms = 1000;
        tr[i].title = "t";
        tr[i].artist = "a";
        tp[i] = &tr[i];
        ml += (size_t)snprintf(manifest + ml, sizeof(manifest) - ml, "%s{\"cid\":{\"/\":\"%s\"}}",
                               i ? "," : "", tracks[i]);
    }
    ml += (size_t)snprintf(manifest + ml, sizeof(manifest) - ml, "]}");
    pl.n_tracks = n;
    pl.tracks = tp;
    body.chain_id = "test";
    body.slot = (uint64_t)slot;
    body.playlist = &pl;
    uint8_t packed[4096];
    size_t plen = sleetbubble__v1__proposal_body__pack(&body, packed);
    uint8_t bin[37];
    char cid[SB_CID_STR_MAX];
    sb_cid_dagjson((const uint8_t *)manifest, ml, bin);
    assert_int_equal(sb_cid_to_string(bin, sizeof(bin), cid, sizeof(cid)), 0);
    if (mcid)
        snprintf(mcid, mcidlen, "%s", cid);

    sql(f, "BEGIN IMMEDIATE");
    assert_int_equal(
        sqlite3_prepare_v2(
            f->db,
            "INSERT INTO proposals (id, slot, curator, height, idx, tx, body, n_tracks, total_ms) "
            "VALUES (?, ?, zeroblob(32), 1, 0, x'00', ?, ?, 1000)",
            -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(s, 1, pid, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, slot);
    sqlite3_bind_blob(s, 3, packed, (int)plen, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)n);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    assert_int_equal(
        sqlite3_prepare_v2(
            f->db,
            "INSERT INTO slots (slot, outcome, proposal_id, power_for, total, manifest_cid, "
            "manifest, height) VALUES (?, ?, ?, 10, 10, ?, ?, 1)",
            -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(s, 1, slot);
    sqlite3_bind_int(s, 2, outcome);
    sqlite3_bind_blob(s, 3, pid, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 4, bin, 37, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 5, manifest, (int)ml, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sql(f, "COMMIT");
    if (f->pin)
        sb_pin_notify(f->pin, slot);
}

typedef struct jobrow {
    int exists;
    char state[16];
    int64_t attempts, next_try_ms, bytes, pinned_at;
    char last_error[400];
} jobrow;

/* The worker's database, opened once it exists. */
static sqlite3 *pins_db(fx *f)
{
    if (!f->pdb) {
        assert_int_equal(access(f->pins_path, F_OK), 0);
        assert_int_equal(sqlite3_open(f->pins_path, &f->pdb), SQLITE_OK);
        sqlite3_busy_timeout(f->pdb, 10000);
    }
    return f->pdb;
}

static jobrow get_job(fx *f, const char *cid)
{
    jobrow r = { 0 };
    sqlite3_stmt *s;
    assert_int_equal(
        sqlite3_prepare_v2(pins_db(f),
                           "SELECT state, attempts, next_try_ms, bytes, coalesce(pinned_at_ms, 0), "
                           "coalesce(last_error, '') FROM jobs WHERE cid = ?",
                           -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_text(s, 1, cid, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW) {
        r.exists = 1;
        snprintf(r.state, sizeof(r.state), "%s", sqlite3_column_text(s, 0));
        r.attempts = sqlite3_column_int64(s, 1);
        r.next_try_ms = sqlite3_column_int64(s, 2);
        r.bytes = sqlite3_column_int64(s, 3);
        r.pinned_at = sqlite3_column_int64(s, 4);
        snprintf(r.last_error, sizeof(r.last_error), "%s", sqlite3_column_text(s, 5));
    }
    sqlite3_finalize(s);
    return r;
}

/* Wait until cid's job is in `state`; fails with the row after timeout_ms. Returns ms. */
static int64_t wait_state(fx *f, const char *cid, const char *state, int timeout_ms)
{
    int64_t t0 = mono_ms();
    jobrow r;
    for (;;) {
        r = get_job(f, cid);
        if (r.exists && strcmp(r.state, state) == 0)
            return mono_ms() - t0;
        if (mono_ms() - t0 > timeout_ms)
            break;
        sleep_ms(100);
    }
    fail_msg("job %s: state %s attempts %lld last_error \"%s\" after %d ms, wanted %s", cid,
             r.exists ? r.state : "(none)", (long long)r.attempts, r.last_error, timeout_ms, state);
    return -1;
}

static int64_t count_jobs(fx *f, const char *where)
{
    char q[256];
    sqlite3_stmt *s;
    snprintf(q, sizeof(q), "SELECT count(*) FROM jobs WHERE %s", where);
    assert_int_equal(sqlite3_prepare_v2(pins_db(f), q, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* ---- a fake Kubo endpoint: a block/put answering a wrong CID (real Kubo cannot), and a relay
 * to the real Kubo that adds timeout=2s to pin/add (X-Stream-Error from Kubo itself) -------- */

typedef struct fake {
    int lfd;
    int port;
    pthread_t th;
    atomic_int stop;
    pthread_mutex_t mu;
    char put_key[128]; /* Key answered by block/put */
    int relay_timeout; /* pin/add is relayed to the real Kubo with timeout=2s added */
    int puts, pin_adds;
    char last_path[512];
} fake;

static void fake_answer(int c, const char *status, const char *body)
{
    char h[1024];
    int n = snprintf(h, sizeof(h),
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, strlen(body), body);
    (void)!write(c, h, (size_t)n);
}

/* Forward one request to the real Kubo with "timeout=2s&" added to its query (and
 * "Connection: close"), then copy Kubo's answer back byte for byte until Kubo closes. */
static void relay_with_timeout(int c, const char *req, size_t n)
{
    const char *q = memchr(req, '?', n), *eol = strstr(req, "\r\n");
    if (!q || !eol || q > eol)
        return;
    int k = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(API_PORT) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (k < 0 || connect(k, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (k >= 0)
            close(k);
        return;
    }
    static const char add_q[] = "timeout=2s&", add_h[] = "\r\nConnection: close";
    (void)!write(k, req, (size_t)(q + 1 - req));
    (void)!write(k, add_q, sizeof(add_q) - 1);
    (void)!write(k, q + 1, (size_t)(eol - q - 1));
    (void)!write(k, add_h, sizeof(add_h) - 1);
    (void)!write(k, eol, n - (size_t)(eol - req));
    char buf[4096];
    ssize_t r;
    while ((r = read(k, buf, sizeof(buf))) > 0)
        if (write(c, buf, (size_t)r) != r)
            break;
    close(k);
}

static void *fake_main(void *arg)
{
    fake *fk = arg;
    while (!atomic_load(&fk->stop)) {
        struct pollfd pf = { fk->lfd, POLLIN, 0 };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int c = accept(fk->lfd, NULL, NULL);
        if (c < 0)
            continue;
        char req[65536];
        size_t n = 0;
        long clen = -1;
        char *hend = NULL;
        while (n + 1 < sizeof(req)) {
            struct pollfd cp = { c, POLLIN, 0 };
            if (poll(&cp, 1, 2000) <= 0)
                break;
            ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            req[n] = '\0';
            if (!hend && (hend = strstr(req, "\r\n\r\n"))) {
                char *cl = strcasestr(req, "\r\nContent-Length:");
                clen = cl && cl < hend ? strtol(cl + 17, NULL, 10) : 0;
            }
            if (hend && (size_t)(hend + 4 - req) + (size_t)clen <= n)
                break;
        }
        req[n] = '\0';
        pthread_mutex_lock(&fk->mu);
        char *sp = strchr(req, ' ');
        char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
        if (sp && sp2)
            snprintf(fk->last_path, sizeof(fk->last_path), "%.*s", (int)(sp2 - sp - 1), sp + 1);
        if (fk->relay_timeout && strstr(fk->last_path, "/pin/add?")) {
            fk->pin_adds++;
            relay_with_timeout(c, req, n);
        } else if (strstr(fk->last_path, "/block/put")) {
            char body[256];
            fk->puts++;
            snprintf(body, sizeof(body), "{\"Key\":\"%s\",\"Size\":10}\n", fk->put_key);
            fake_answer(c, "200 OK", body);
        } else if (strstr(fk->last_path, "/pin/add")) {
            fk->pin_adds++;
            fake_answer(c, "500 Internal Server Error",
                        "{\"Message\":\"fake: no pin/add here\",\"Code\":0,\"Type\":\"error\"}\n");
        } else if (strstr(fk->last_path, "/pin/ls")) {
            fake_answer(c, "200 OK", "");
        } else {
            fake_answer(c, "200 OK", "{\"ID\":\"fake\"}\n");
        }
        pthread_mutex_unlock(&fk->mu);
        close(c);
    }
    return NULL;
}

static fake *fake_start(void)
{
    fake *fk = calloc(1, sizeof(*fk));
    assert_non_null(fk);
    pthread_mutex_init(&fk->mu, NULL);
    atomic_init(&fk->stop, 0);
    fk->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    assert_int_equal(bind(fk->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fk->lfd, 16), 0);
    assert_int_equal(getsockname(fk->lfd, (struct sockaddr *)&a, &al), 0);
    fk->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&fk->th, NULL, fake_main, fk), 0);
    return fk;
}

static void fake_stop(fake *fk)
{
    if (!fk)
        return;
    atomic_store(&fk->stop, 1);
    pthread_join(fk->th, NULL);
    close(fk->lfd);
    pthread_mutex_destroy(&fk->mu);
    free(fk);
}

/* ==== tests: the client ==================================================================== */

static void client_block_put_returns_the_dag_json_cid_and_pins_it(void **state)
{
    kubo_start(1);
    sb_kubo *k = client(API_URL, NULL, 10);
    sb_kubo_err e;
    char manifest[128], key[128], want[SB_CID_STR_MAX];
    int was = -1;
    snprintf(manifest, sizeof(manifest), "{\"slot\":%lld,\"tracks\":[]}", (long long)real_ms());
    uint8_t bin[37];
    sb_cid_dagjson((const uint8_t *)manifest, strlen(manifest), bin);
    assert_int_equal(sb_cid_to_string(bin, 37, want, sizeof(want)), 0);
    assert_int_equal(sb_kubo_health(k, &e), SB_KUBO_OK);
    assert_int_equal(
        sb_kubo_block_put(k, (const uint8_t *)manifest, strlen(manifest), key, sizeof(key), &e),
        SB_KUBO_OK);
    assert_string_equal(key, want);
    assert_int_equal(strncmp(key, "baguqeera", 9), 0);
    assert_int_equal(sb_kubo_pin_direct(k, key, &e), SB_KUBO_OK);
    assert_true(kubo_pinned(key, "direct"));
    assert_int_equal(sb_kubo_pin_rm(k, key, &was, &e), SB_KUBO_OK);
    assert_int_equal(was, 1);
    assert_false(kubo_pinned(key, "direct"));
    /* Removing what is not pinned is not an error. */
    assert_int_equal(sb_kubo_pin_rm(k, key, &was, &e), SB_KUBO_OK);
    assert_int_equal(was, 0);
    sb_kubo_free(k);
}

static void client_recursive_pin_reports_bytes(void **state)
{
    kubo_start(1);
    char cid[128];
    uint64_t bytes = 0;
    sb_kubo_err e;
    add_random_file(300000, cid, sizeof(cid));
    sb_kubo *k = client(API_URL, NULL, 10);
    sb_kubo_pin_limits lim = { .stall_seconds = 5, .max_bytes = 0 };
    assert_int_equal(sb_kubo_pin_recursive(k, cid, &lim, &bytes, &e), SB_KUBO_OK);
    assert_true(bytes >= 300000);
    assert_true(kubo_pinned(cid, "recursive"));
    assert_int_equal(sb_kubo_pin_rm(k, cid, NULL, &e), SB_KUBO_OK);
    sb_kubo_free(k);
}

static void client_kubo_error_message_comes_back(void **state)
{
    kubo_start(1);
    sb_kubo *k = client(API_URL, NULL, 10);
    sb_kubo_err e;
    /* A well-formed but missing CID on an offline node fails at once with Kubo's message. */
    char cid[SB_CID_STR_MAX];
    unknown_cid(cid, sizeof(cid));
    sb_kubo_pin_limits lim = { .stall_seconds = 5 };
    /* Kubo's own error (E_API), not our stall watchdog (E_STALLED) nor the timeout. */
    assert_int_equal(sb_kubo_pin_recursive(k, cid, &lim, NULL, &e), SB_KUBO_E_API);
    assert_non_null(strstr(e.msg, "pin/add"));
    assert_true(strlen(e.msg) > 30);
    /* Not a CID at all: Kubo's 500 + JSON Message. */
    assert_int_equal(sb_kubo_pin_direct(k, "bafyNOTaCID", &e), SB_KUBO_E_API);
    assert_int_equal(e.http_status, 500);
    /* Characters that could smuggle query parameters never reach the wire. */
    assert_int_equal(sb_kubo_pin_direct(k, "bafy&recursive=true", &e), SB_KUBO_E_ARG);
    sb_kubo_free(k);
}

static void client_unreachable_kubo_is_reported_as_unreachable(void **state)
{
    /* Port 9 on loopback: nothing listens (connection refused). */
    sb_kubo *k = client("http://127.0.0.1:9/api/v0", NULL, 3);
    sb_kubo_err e;
    assert_int_equal(sb_kubo_health(k, &e), SB_KUBO_E_UNREACHABLE);
    assert_string_equal(sb_kubo_reason(e.code), "unreachable");
    sb_kubo_free(k);
}

static void client_stalled_pin_is_cancelled_after_stall_seconds(void **state)
{
    kubo_start(0); /* online, no peers: pin/add hangs printing {} every 500 ms */
    sb_kubo *k = client(API_URL, NULL, 30);
    sb_kubo_err e;
    char cid[SB_CID_STR_MAX];
    unknown_cid(cid, sizeof(cid));
    sb_kubo_pin_limits lim = { .stall_seconds = 3 };
    int64_t t0 = mono_ms();
    assert_int_equal(sb_kubo_pin_recursive(k, cid, &lim, NULL, &e), SB_KUBO_E_STALLED);
    int64_t took = mono_ms() - t0;
    /* Never cancelled before stall_seconds: a lower bound that follows from the contract and
     * holds however slow the machine is (not a speed; no upper bound). */
    assert_true(took >= 3000);
    assert_non_null(strstr(e.msg, "no progress for pin.stall_seconds = 3"));
    sb_kubo_free(k);
}

static void client_no_progress_at_all_hits_timeout_when_shorter_than_stall(void **state)
{
    kubo_start(0);
    sb_kubo *k = client(API_URL, NULL, 2);
    sb_kubo_err e;
    char cid[SB_CID_STR_MAX];
    unknown_cid(cid, sizeof(cid));
    sb_kubo_pin_limits lim = { .stall_seconds = 60 };
    assert_int_equal(sb_kubo_pin_recursive(k, cid, &lim, NULL, &e), SB_KUBO_E_TIMEOUT);
    assert_non_null(strstr(e.msg, "no progress at all within ipfs.timeout_seconds = 2"));
    sb_kubo_free(k);
}

static void client_stream_error_trailer_from_real_kubo_is_an_api_error(void **state)
{
    /* Real Kubo (online, no peers) ends a pin/add given a `timeout` option with a 200 stream
     * of progress lines and an X-Stream-Error trailer ("context deadline exceeded"). Our
     * client never sends `timeout`, so a relay adds timeout=2s to the query; every byte of the
     * answer is Kubo's own. */
    kubo_start(0);
    fake *fk = fake_start();
    fk->relay_timeout = 1;
    char url[128], cid[SB_CID_STR_MAX];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v0/", fk->port);
    unknown_cid(cid, sizeof(cid));
    sb_kubo *k = client(url, NULL, 60);
    sb_kubo_err e;
    uint64_t bytes = 7;
    sb_kubo_pin_limits lim = { .stall_seconds = 60 }; /* the watchdog is not what ends it */
    int rc = sb_kubo_pin_recursive(k, cid, &lim, &bytes, &e);
    sb_kubo_free(k);
    pthread_mutex_lock(&fk->mu);
    int relayed = fk->pin_adds;
    pthread_mutex_unlock(&fk->mu);
    fake_stop(fk);
    assert_int_equal(relayed, 1);
    if (rc != SB_KUBO_E_API)
        fail_msg("rc %d (%s), want SB_KUBO_E_API", rc, e.msg);
    assert_int_equal(e.http_status, 200);
    assert_non_null(strstr(e.msg, "X-Stream-Error"));
    assert_non_null(strstr(e.msg, "context deadline exceeded"));
    assert_false(kubo_pinned(cid, "recursive"));
}

static int teardown_noauth(void **state)
{
    kubo_start_noauth();
    return 0;
}

static void client_auth_header_against_kubo_with_api_authorizations(void **state)
{
    /* Real Kubo with API.Authorizations: 200 with the right bearer token, 403 without it or
     * with a wrong one; the token never appears in an error message. */
    char path[400], hdr[256], err[256];
    snprintf(path, sizeof(path), "%s/auth", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Authorization: Bearer s3cr3t-t0ken\r\n", f);
    fclose(f);
    assert_int_equal(sb_kubo_read_auth_header(path, hdr, sizeof(hdr), err, sizeof(err)), 0);
    assert_string_equal(hdr, "Authorization: Bearer s3cr3t-t0ken");
    kubo_start_auth("s3cr3t-t0ken", hdr); /* waits for /id to answer 200 with hdr */

    sb_kubo_err e;
    char manifest[128], key[128];
    snprintf(manifest, sizeof(manifest), "{\"auth\":%lld}", (long long)real_ms());
    sb_kubo *k = client(API_URL, hdr, 10);
    assert_int_equal(sb_kubo_health(k, &e), SB_KUBO_OK);
    assert_int_equal(
        sb_kubo_block_put(k, (const uint8_t *)manifest, strlen(manifest), key, sizeof(key), &e),
        SB_KUBO_OK);
    assert_int_equal(sb_kubo_pin_direct(k, key, &e), SB_KUBO_OK);
    assert_true(kubo_pinned(key, "direct")); /* the check's client sends hdr too */
    sb_kubo_free(k);

    /* Kubo 0.42 refuses with 403 and a plain-text page (not JSON): an API error carrying
     * Kubo's words, not "unreachable". */
    const char *wrong[] = { "Authorization: Bearer wr0ng-t0ken", "" };
    for (size_t i = 0; i < 2; i++) {
        char o_err[256];
        sb_kubo_opts o = { .api_url = API_URL, .auth_header = wrong[i], .timeout_seconds = 10 };
        sb_kubo *b = sb_kubo_new(&o, o_err, sizeof(o_err));
        assert_non_null(b);
        int rc = sb_kubo_health(b, &e);
        if (rc != SB_KUBO_E_API || e.http_status != 403)
            fail_msg("health with auth \"%s\": rc %d HTTP %d: %s", wrong[i], rc, (int)e.http_status,
                     e.msg);
        assert_int_equal(sb_kubo_pin_direct(b, key, &e), SB_KUBO_E_API);
        assert_int_equal(e.http_status, 403);
        assert_non_null(strstr(e.msg, "pin/add"));
        assert_non_null(strstr(e.msg, "HTTP 403"));
        assert_non_null(strstr(e.msg, "API.Authorizations"));
        assert_null(strstr(e.msg, "t0ken"));
        sb_kubo_free(b);
    }

    /* A malformed file is refused without quoting it. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("Bearer s3cr3t-t0ken\n", f);
    fclose(f);
    assert_int_equal(sb_kubo_read_auth_header(path, hdr, sizeof(hdr), err, sizeof(err)), -1);
    assert_null(strstr(err, "s3cr3t"));
    unlink(path);
}

/* ==== tests: the worker ==================================================================== */

static void worker_pins_manifest_and_tracks_of_a_winner(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char t1[128], t2[128], m[SB_CID_STR_MAX];
    add_random_file(200000, t1, sizeof(t1));
    add_random_file_v(1000, t2, sizeof(t2), 1); /* a CIDv0 track */
    sb_metrics_reset();
    int64_t before = real_ms();
    fx_start(f);
    sleep_ms(300); /* idle: only sb_pin_notify can wake it before its 60 s nap ends */
    const char *tr[] = { t1, t2 };
    add_winner(f, 7, 1, 0, tr, 2, m, sizeof(m));
    wait_state(f, m, "pinned", 20000);
    wait_state(f, t1, "pinned", 20000);
    wait_state(f, t2, "pinned", 20000);
    assert_true(kubo_pinned(m, "direct"));
    assert_true(kubo_pinned(t1, "recursive"));
    assert_true(kubo_pinned(t2, "recursive"));
    jobrow r = get_job(f, t1);
    assert_true(r.bytes >= 200000);
    assert_int_equal(r.attempts, 1);
    assert_true(r.pinned_at >= before && r.pinned_at <= real_ms()); /* ms of the real clock */
    assert_string_equal(r.last_error, "");
    fx_stop(f);
    char *txt = NULL;
    size_t len = 0;
    assert_int_equal(sb_metrics_render(&txt, &len), 0);
    int ok = strstr(txt, "sleetbubble_pin_jobs{state=\"pinned\"} 3") != NULL &&
             strstr(txt, "sleetbubble_pin_latency_seconds_count 3") != NULL;
    if (!ok)
        fprintf(stderr, "%s\n", txt);
    free(txt);
    assert_true(ok);
}

static void worker_cancels_a_stalled_track_within_stall_seconds(void **state)
{
    fx *f = *state;
    kubo_start(0);
    char t[SB_CID_STR_MAX], m[SB_CID_STR_MAX];
    unknown_cid(t, sizeof(t));
    f->cfg.pin.max_attempts = 1;
    f->cfg.pin.stall_seconds = 3;
    const char *tr[] = { t };
    add_winner(f, 8, 2, 0, tr, 1, m, sizeof(m));
    fx_start(f);
    wait_state(f, t, "failed", 30000);
    jobrow r = get_job(f, t);
    assert_int_equal(strncmp(r.last_error, "stalled:", 8), 0);
    assert_non_null(strstr(r.last_error, "pin.stall_seconds = 3"));
    assert_int_equal(r.attempts, 1);
    /* The manifest of the same winner is unaffected. */
    wait_state(f, m, "pinned", 10000);
}

static void worker_stop_interrupts_a_stalled_pin_and_requeues_it(void **state)
{
    fx *f = *state;
    kubo_start(0);
    char t[SB_CID_STR_MAX];
    unknown_cid(t, sizeof(t));
    f->cfg.pin.stall_seconds = 600;
    f->cfg.ipfs.timeout_seconds = 600;
    const char *tr[] = { t };
    add_winner(f, 9, 1, 0, tr, 1, NULL, 0);
    fx_start(f);
    wait_state(f, t, "pinning", 10000);
    sleep_ms(500);
    fx_stop(f); /* returns only once every thread has ended; the pin was mid-flight */
    jobrow r = get_job(f, t);
    assert_string_equal(r.state, "queued");
    assert_int_equal(r.attempts, 0);
}

static void worker_fails_a_too_large_track_without_retry(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char t[128];
    add_random_file(3000000, t, sizeof(t));
    f->cfg.pin.max_track_bytes = 100000;
    const char *tr[] = { t };
    add_winner(f, 10, 1, 0, tr, 1, NULL, 0);
    fx_start(f);
    wait_state(f, t, "failed", 20000);
    jobrow r = get_job(f, t);
    assert_int_equal(strncmp(r.last_error, "too_large:", 10), 0);
    assert_int_equal(r.attempts, 1);
    assert_true(r.bytes > 100000);
    assert_false(kubo_pinned(t, "recursive"));
    sleep_ms(2500); /* no retry */
    r = get_job(f, t);
    assert_string_equal(r.state, "failed");
    assert_int_equal(r.attempts, 1);
}

static void worker_reconcile_repins_what_was_unpinned_behind_its_back(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char t[128], m[SB_CID_STR_MAX];
    add_random_file(5000, t, sizeof(t));
    const char *tr[] = { t };
    add_winner(f, 11, 1, 0, tr, 1, m, sizeof(m));
    fx_start(f);
    wait_state(f, t, "pinned", 20000);
    wait_state(f, m, "pinned", 20000);
    fx_stop(f);
    char *argv[] = { "ipfs", "pin", "rm", t, NULL };
    assert_int_equal(run(argv, NULL, 0), 0);
    assert_false(kubo_pinned(t, "recursive"));
    int64_t before = get_job(f, t).pinned_at;
    sleep_ms(20);
    fx_start(f);
    int64_t t0 = mono_ms();
    for (;;) {
        jobrow r = get_job(f, t);
        if (strcmp(r.state, "pinned") == 0 && r.pinned_at > before)
            break;
        if (mono_ms() - t0 > 20000)
            fail_msg("not re-pinned: state %s last_error %s", r.state, r.last_error);
        sleep_ms(100);
    }
    assert_true(kubo_pinned(t, "recursive"));
    /* The manifest, still pinned, was left alone. */
    assert_true(kubo_pinned(m, "direct"));
}

static void worker_reconcile_marks_already_pinned_queued_jobs_pinned(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char t[128];
    add_random_file(5000, t, sizeof(t));
    char *argv[] = { "ipfs", "pin", "add", t, NULL };
    assert_int_equal(run(argv, NULL, 0), 0);
    /* Queued, but not due for an hour: only reconcile can mark it. */
    const char *tr[] = { t };
    add_winner(f, 12, 1, 0, tr, 1, NULL, 0);
    /* A previous run ingested it and left it queued, not due for an hour. */
    char err[256], q[512];
    sb_pinstore *ps = NULL;
    size_t ns = 0, nj = 0;
    if (sb_pinstore_open(f->pins_path, f->db_path, &ps, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_int_equal(sb_pinstore_ingest(ps, 0, 16, &ns, &nj), 0);
    assert_int_equal(nj, 2);
    sb_pinstore_close(ps);
    snprintf(q, sizeof(q), "UPDATE jobs SET next_try_ms = %lld WHERE cid = '%s'",
             (long long)real_ms() + 3600000, t);
    assert_int_equal(sqlite3_exec(pins_db(f), q, NULL, NULL, NULL), SQLITE_OK);
    fx_start(f);
    wait_state(f, t, "pinned", 20000);
    assert_int_equal(get_job(f, t).attempts, 0);
}

static void worker_waits_for_kubo_with_backoff_and_completes_when_it_returns(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char t[128], m[SB_CID_STR_MAX];
    add_random_file(20000, t, sizeof(t));
    kubo_stop();
    const char *tr[] = { t };
    add_winner(f, 13, 1, 0, tr, 1, m, sizeof(m));
    int64_t started = real_ms();
    fx_start(f);
    /* Attempts grow and the stored delay grows with them: attempt 1 fails at T1 >= started
     * and stores next1 = T1 + [1600, 2400]; attempt 2 runs at T2 >= next1 and stores
     * next2 = T2 + [3200, 4800] (protocol.md §10 backoff, ±20 %): so next2 - next1 >= 3200
     * whatever the machine's speed. */
    int64_t t0 = mono_ms();
    jobrow r;
    int64_t next1 = 0, next2 = 0;
    for (;;) {
        r = get_job(f, t);
        if (r.attempts == 1 && !next1 && strcmp(r.state, "queued") == 0)
            next1 = r.next_try_ms;
        if (r.attempts == 2 && strcmp(r.state, "queued") == 0) {
            next2 = r.next_try_ms;
            break;
        }
        if (mono_ms() - t0 > 30000)
            fail_msg("attempts %lld state %s after 30 s", (long long)r.attempts, r.state);
        sleep_ms(20);
    }
    assert_int_equal(strncmp(r.last_error, "unreachable:", 12), 0);
    assert_true(next1 >= started + 1600);
    assert_true(next2 - next1 >= 3200);
    kubo_start(1);
    wait_state(f, t, "pinned", 30000);
    wait_state(f, m, "pinned", 30000);
    assert_true(get_job(f, t).attempts >= 3);
    assert_true(kubo_pinned(t, "recursive"));
}

static void worker_fails_the_manifest_when_kubo_returns_another_cid(void **state)
{
    fx *f = *state;
    fake *fk = fake_start();
    snprintf(fk->put_key, sizeof(fk->put_key), "%s",
             "baguqeeraaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    snprintf(f->cfg.ipfs.api_url, sizeof(f->cfg.ipfs.api_url), "http://127.0.0.1:%d/api/v0/",
             fk->port);
    char m[SB_CID_STR_MAX];
    add_winner(f, 14, 1, 0, NULL, 0, m, sizeof(m));
    fx_start(f);
    wait_state(f, m, "failed", 10000);
    fx_stop(f);
    jobrow r = get_job(f, m);
    assert_int_equal(strncmp(r.last_error, "cid_mismatch:", 13), 0);
    assert_non_null(strstr(r.last_error, fk->put_key));
    assert_int_equal(r.pinned_at, 0);
    assert_int_equal(count_jobs(f, "state = 'pinned'"), 0);
    pthread_mutex_lock(&fk->mu);
    assert_int_equal(fk->puts, 1);
    assert_int_equal(fk->pin_adds, 0); /* never pinned what it could not verify */
    pthread_mutex_unlock(&fk->mu);
    fake_stop(fk);
}

static void worker_fails_a_manifest_whose_stored_bytes_do_not_hash_to_its_cid(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char m[SB_CID_STR_MAX];
    add_winner(f, 15, 1, 0, NULL, 0, m, sizeof(m));
    sql(f, "UPDATE slots SET manifest = x'7b7d' WHERE slot = 15"); /* "{}": not this CID */
    fx_start(f);
    wait_state(f, m, "failed", 10000);
    jobrow r = get_job(f, m);
    assert_int_equal(strncmp(r.last_error, "manifest_missing:", 17), 0);
    assert_false(kubo_pinned(m, "direct"));
}

static void worker_retention_unpins_only_cids_no_kept_slot_references(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char a[128], b[128], c[128], d[128], m1[SB_CID_STR_MAX], m2[SB_CID_STR_MAX], m4[SB_CID_STR_MAX];
    add_random_file(3000, a, sizeof(a));
    add_random_file(3000, b, sizeof(b));
    add_random_file(3000, c, sizeof(c));
    add_random_file(3000, d, sizeof(d));
    f->cfg.pin.keep_slots = 2;
    fx_start(f);
    const char *s1[] = { a, b }, *s2[] = { b, c }, *s4[] = { d };
    add_winner(f, 1, 1, 0, s1, 2, m1, sizeof(m1));
    wait_state(f, a, "pinned", 20000);
    wait_state(f, m1, "pinned", 20000);
    add_winner(f, 2, 1, 0, s2, 2, m2, sizeof(m2));
    wait_state(f, c, "pinned", 20000);
    wait_state(f, m2, "pinned", 20000);
    sleep_ms(500);
    /* keep 2 of {1, 2}: nothing goes. */
    assert_true(kubo_pinned(a, "recursive"));
    assert_true(kubo_pinned(m1, "direct"));
    /* Slot 3 repeats slot 2; slot 4 is new: kept {4, 3}; 3 references slot 2's CIDs. */
    add_winner(f, 3, 3, 2, NULL, 0, NULL, 0);
    add_winner(f, 4, 2, 0, s4, 1, m4, sizeof(m4));
    wait_state(f, d, "pinned", 20000);
    wait_state(f, m4, "pinned", 20000);
    int64_t t0 = mono_ms();
    while (get_job(f, a).exists || get_job(f, m1).exists) {
        if (mono_ms() - t0 > 15000)
            fail_msg("retention did not remove slot 1's jobs");
        sleep_ms(100);
    }
    assert_false(kubo_pinned(a, "recursive"));
    assert_false(kubo_pinned(m1, "direct"));
    /* b is in slot 1 (dropped) and slot 2 (dropped) but slot 3 REPEATs slot 2: kept. */
    assert_true(kubo_pinned(b, "recursive"));
    assert_true(kubo_pinned(c, "recursive"));
    assert_true(kubo_pinned(m2, "direct"));
    assert_true(kubo_pinned(d, "recursive"));
    assert_true(kubo_pinned(m4, "direct"));
    assert_string_equal(get_job(f, b).state, "pinned");
    assert_int_equal(count_jobs(f, "1"), 5);
}

static void worker_backfills_jobs_for_kept_slots_without_jobs(void **state)
{
    fx *f = *state;
    kubo_start(1);
    char a[128], b[128], m1[SB_CID_STR_MAX], m2[SB_CID_STR_MAX];
    add_random_file(2000, a, sizeof(a));
    add_random_file(2000, b, sizeof(b));
    const char *s1[] = { a }, *s2[] = { b };
    /* Finalized while pinning was off: no jobs. */
    add_winner(f, 20, 1, 0, s1, 1, m1, sizeof(m1));
    add_winner(f, 21, 1, 0, s2, 1, m2, sizeof(m2));
    add_winner(f, 22, 3, 21, NULL, 0, NULL, 0);
    sql(f, "INSERT INTO slots (slot, outcome, power_for, total, height) VALUES (23, 4, 0, 10, 1)");
    assert_int_not_equal(access(f->pins_path, F_OK), 0); /* no progress yet: nothing pinned */
    f->cfg.pin.keep_slots = 2; /* kept: 22 (REPEAT of 21) and 21; NONE is not counted */
    fx_start(f);
    wait_state(f, b, "pinned", 20000);
    wait_state(f, m2, "pinned", 20000);
    assert_false(get_job(f, a).exists);
    assert_false(get_job(f, m1).exists);
    assert_int_equal(count_jobs(f, "1"), 2);
    assert_true(kubo_pinned(m2, "direct"));
}

/* ==== main ================================================================================= */

static int group_setup(void **state)
{
    char tmpl[] = "/tmp/sb-pin-test-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
    snprintf(repo, sizeof(repo), "%s/repo", tmpdir);
    setenv("IPFS_PATH", repo, 1);
    setenv("IPFS_TELEMETRY", "off", 1);
    char *init[] = { "ipfs", "init", "--profile=test", NULL };
    if (run(init, NULL, 0) != 0) {
        fprintf(stderr, "ipfs init failed (see %s/cmd.log)\n", tmpdir);
        return -1;
    }
    char api[64], gw[64], sw[64];
    snprintf(api, sizeof(api), "\"/ip4/127.0.0.1/tcp/%d\"", API_PORT);
    snprintf(gw, sizeof(gw), "\"/ip4/127.0.0.1/tcp/%d\"", GW_PORT);
    snprintf(sw, sizeof(sw), "[\"/ip4/127.0.0.1/tcp/%d\"]", SWARM_PORT);
    if (ipfs_cfg("Addresses.API", api) || ipfs_cfg("Addresses.Gateway", gw) ||
        ipfs_cfg("Addresses.Swarm", sw) || ipfs_cfg("Bootstrap", "[]"))
        return -1;
    (void)ipfs_cfg("AutoConf.Enabled", "false");
    return 0;
}

static int group_teardown(void **state)
{
    kubo_stop();
    char *argv[] = { "rm", "-rf", tmpdir, NULL };
    if (!getenv("SB_KEEP_TMP"))
        run(argv, NULL, 0);
    return 0;
}

int main(void)
{
    char *which[] = { "sh", "-c", "command -v ipfs", NULL };
    if (run(which, NULL, 0) != 0) {
        const char *allow = getenv("SB_ALLOW_SKIP");
        int skip = allow && strcmp(allow, "1") == 0;
        fprintf(stderr, "ipfs not on PATH (run scripts/bootstrap, source scripts/env.sh): %s\n",
                skip ? "SKIPPED, 0 of the real-Kubo tests ran (SB_ALLOW_SKIP=1)"
                     : "FAILED (set SB_ALLOW_SKIP=1 to skip)");
        return skip ? 0 : 1;
    }
    atexit(kubo_stop);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sb_log_setup(getenv("SB_PIN_TEST_DEBUG") ? SB_LOG_DEBUG : SB_LOG_WARN, 0);
#define W(fn) cmocka_unit_test_setup_teardown(fn, setup_fx, teardown_fx)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_block_put_returns_the_dag_json_cid_and_pins_it),
        cmocka_unit_test(client_recursive_pin_reports_bytes),
        cmocka_unit_test(client_kubo_error_message_comes_back),
        cmocka_unit_test(client_unreachable_kubo_is_reported_as_unreachable),
        cmocka_unit_test_teardown(client_auth_header_against_kubo_with_api_authorizations,
                                  teardown_noauth),
        W(worker_pins_manifest_and_tracks_of_a_winner),
        W(worker_fails_a_too_large_track_without_retry),
        W(worker_reconcile_repins_what_was_unpinned_behind_its_back),
        W(worker_reconcile_marks_already_pinned_queued_jobs_pinned),
        W(worker_fails_the_manifest_when_kubo_returns_another_cid),
        W(worker_fails_a_manifest_whose_stored_bytes_do_not_hash_to_its_cid),
        W(worker_retention_unpins_only_cids_no_kept_slot_references),
        W(worker_backfills_jobs_for_kept_slots_without_jobs),
        W(worker_waits_for_kubo_with_backoff_and_completes_when_it_returns),
        /* online (no peers) from here on: pins of missing content hang */
        cmocka_unit_test(client_stalled_pin_is_cancelled_after_stall_seconds),
        cmocka_unit_test(client_no_progress_at_all_hits_timeout_when_shorter_than_stall),
        cmocka_unit_test(client_stream_error_trailer_from_real_kubo_is_an_api_error),
        W(worker_cancels_a_stalled_track_within_stall_seconds),
        W(worker_stop_interrupts_a_stalled_pin_and_requeues_it),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    kubo_stop();
    return rc;
}
