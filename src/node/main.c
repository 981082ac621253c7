/* main.c - sleetbubbled: init a home, start the ABCI server beside CometBFT (protocol.md §11). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include <abci/abci.h>

#include "app.h"
#include "autovote.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#include "pin.h"
#include "web.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sleetbubbled <command> [options]\n"
            "\n"
            "commands:\n"
            "  init  --home DIR [--chain-id ID]   write DIR/config/sleetbubble.toml (every key,\n"
            "                                     commented) and DIR/data/\n"
            "  start [--home DIR] [--log-level debug|info|warn|error] [--log-format plain|json]\n"
            "                                     serve CometBFT over ABCI (protocol.md §2)\n"
            "  version                            print the version\n"
            "\n"
            "DIR defaults to $SLEETBUBBLE_HOME, else ~/.sleetbubble.\n");
}

typedef struct opts {
    const char *home;
    const char *chain_id;
    const char *log_level;
    const char *log_format;
} opts;

static int parse_opts(int argc, char **argv, opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char **dst = NULL;
        if (strcmp(argv[i], "--home") == 0)
            dst = &o->home;
        else if (strcmp(argv[i], "--chain-id") == 0)
            dst = &o->chain_id;
        else if (strcmp(argv[i], "--log-level") == 0)
            dst = &o->log_level;
        else if (strcmp(argv[i], "--log-format") == 0)
            dst = &o->log_format;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "sleetbubbled: unknown option %s\n", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sleetbubbled: %s needs a value\n", argv[i]);
            return -1;
        }
        *dst = argv[++i];
    }
    return 0;
}

static int resolve_home(const opts *o, char *home, size_t n)
{
    if (o->home) {
        if (snprintf(home, n, "%s", o->home) >= (int)n)
            return -1;
        return 0;
    }
    return sb_config_default_home(home, n);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int cmd_init(const opts *o)
{
    char home[4096], path[4200], err[512];
    if (resolve_home(o, home, sizeof(home)) < 0) {
        fprintf(stderr, "sleetbubbled: no home directory (--home or SLEETBUBBLE_HOME)\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/config", home);
    if (mkdir_p(path, 0700) < 0) {
        fprintf(stderr, "sleetbubbled: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/data", home);
    if (mkdir_p(path, 0700) < 0) {
        fprintf(stderr, "sleetbubbled: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/config/sleetbubble.toml", home);
    if (sb_config_write_default(path, err, sizeof(err)) < 0) {
        fprintf(stderr, "sleetbubbled: %s\n", err);
        return 1;
    }
    printf("wrote %s\n", path);
    if (o->chain_id)
        printf("chain id %s: it comes from CometBFT's genesis.json at InitChain; put the "
               "Sleetbubble genesis (protocol.md §9) under \"app_state\" there\n",
               o->chain_id);
    return 0;
}

/* Everything the running node owns; torn down by daemon_close in reverse order of start. */
typedef struct daemon {
    struct event_base *base;
    abci_server *abci;
    int stopping;
    sb_store *store;
    sb_app *app;
    sb_pin *pin; /* NULL until the worker started, or with pinning off */
    sb_metrics_server *ms;
    sb_autovote *agent;
    sb_web *web;
    struct event *sigterm, *sigint;
    char pin_path[4200];
} daemon_t;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    daemon_t *d = arg;
    if (d->stopping++) {
        sb_log(SB_LOG_WARN, "main", "second signal %d: exiting now", (int)sig);
        event_base_loopbreak(d->base);
        return;
    }
    sb_log(SB_LOG_INFO, "main",
           "signal %d: stopping (no new connections; finishing current "
           "requests)",
           (int)sig);
    sd_notify(0, "STOPPING=1");
    abci_server_stop_listening(d->abci);
    event_base_loopexit(d->base, NULL);
}

/* arg: the daemon's sb_pin * slot (NULL until the worker started, or with pinning off). */
static void wake_pins(void *arg, int64_t height) { sb_pin_notify(*(sb_pin **)arg, height); }

#ifdef SB_FAULT_HOOKS
/* Test builds only (CMake SLEETBUBBLE_FAULT_HOOKS): $SLEETBUBBLE_FAIL_BEFORE_COMMIT=H makes
 * the app SIGKILL itself before the Commit of height H. 0, or -1 after logging a bad value. */
static int arm_fault_hooks(sb_app_opts *ao)
{
    const char *fail = getenv("SLEETBUBBLE_FAIL_BEFORE_COMMIT");
    if (!fail || !*fail)
        return 0;
    char *end;
    long long h = strtoll(fail, &end, 10);
    if (*end || h <= 0) {
        sb_log(SB_LOG_ERROR, "main", "SLEETBUBBLE_FAIL_BEFORE_COMMIT=%s: not a height", fail);
        return -1;
    }
    ao->fail_before_commit = h;
    sb_log(SB_LOG_WARN, "main", "fault injection armed: SIGKILL before Commit of height %lld", h);
    return 0;
}
#define SB_BUILD_NOTE " (fault hooks)"
#else
#define SB_BUILD_NOTE ""
#endif

/* The configuration of `start`: defaults, the home's sleetbubble.toml, then the command
 * line's --log-level and --log-format. 0, or the exit status (printed). */
static int start_config(const opts *o, sb_config *cfg)
{
    char path[4200], err[1024];
    sb_config_defaults(cfg);
    if (resolve_home(o, cfg->home, sizeof(cfg->home)) < 0) {
        fprintf(stderr, "sleetbubbled: no home directory (--home or SLEETBUBBLE_HOME)\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/config/sleetbubble.toml", cfg->home);
    if (sb_config_load(cfg, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "sleetbubbled: config error: %s\n", err);
        return 1;
    }
    if (o->log_level) {
        int l = sb_log_level_parse(o->log_level);
        if (l < 0) {
            fprintf(stderr, "sleetbubbled: --log-level %s: use debug|info|warn|error\n",
                    o->log_level);
            return 2;
        }
        cfg->log.level = l;
    }
    if (o->log_format) {
        if (strcmp(o->log_format, "plain") && strcmp(o->log_format, "json")) {
            fprintf(stderr, "sleetbubbled: --log-format %s: use plain|json\n", o->log_format);
            return 2;
        }
        cfg->log.json = strcmp(o->log_format, "json") == 0;
    }
    return 0;
}

/* Create HOME/data and open the state database; its path goes to path (pathlen bytes).
 * 0 / -1 (logged). */
static int open_state(const sb_config *cfg, char *path, size_t pathlen, sb_store **store)
{
    char err[1024];
    snprintf(path, pathlen, "%s/data", cfg->home);
    if (mkdir_p(path, 0700) < 0) {
        sb_log(SB_LOG_ERROR, "main", "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, pathlen, "%s/data/sleetbubble.db", cfg->home);
    if (sb_store_open(path, store, err, sizeof(err)) < 0) {
        sb_log(SB_LOG_ERROR, "main", "state database: %s", err);
        return -1;
    }
    return 0;
}

/* The app over d->store and its ABCI server, listening on [abci] laddr (protocol.md §2).
 * 0 / -1 (logged where there is something to say). */
static int start_abci(const sb_config *cfg, daemon_t *d)
{
    char err[1024];
    sb_app_opts ao = { .pin_enabled = cfg->pin.enabled,
                       .sig_cache_entries = cfg->node.sig_cache_entries };
#ifdef SB_FAULT_HOOKS
    if (arm_fault_hooks(&ao) < 0)
        return -1;
#endif
    snprintf(d->pin_path, sizeof(d->pin_path), "%s/data/pins.db", cfg->home);
    ao.pin_db_path = d->pin_path;
    ao.on_commit = wake_pins;
    ao.on_commit_arg = &d->pin;
    if (!(d->app = sb_app_new(d->store, &ao, err, sizeof(err)))) {
        sb_log(SB_LOG_ERROR, "main", "state: %s", err);
        return -1;
    }
    abci_server_opts so = { .max_frame_bytes = cfg->abci.max_frame_bytes,
                            .max_connections = cfg->abci.max_connections,
                            .log = sb_log_abci_sink };
    if (!(d->abci = abci_server_new(d->base, sb_app_abci(), d->app, &so)))
        return -1;
    if (abci_server_listen(d->abci, cfg->abci.laddr, err, sizeof(err)) < 0) {
        sb_log(SB_LOG_ERROR, "main", "[abci] laddr = \"%s\": %s", cfg->abci.laddr, err);
        return -1;
    }
    sb_log(SB_LOG_INFO, "main", "abci: listening on %s at height %lld", cfg->abci.laddr,
           (long long)sb_app_height(d->app));
    return 0;
}

/* The vote agent (protocol.md §15) when [vote] enabled: its own thread and RPC client. Started
 * before the ABCI server listens, so a bad key file ("file:line: [vote] key_file ...") or a
 * journal another agent holds refuses the start before CometBFT can connect; the key's check
 * against the chain happens later on its thread. 0 / -1 (logged). */
static int start_agent(const sb_config *cfg, daemon_t *d)
{
    char err[1024];
    if (cfg->vote.enabled && !(d->agent = sb_autovote_start(cfg, err, sizeof(err)))) {
        sb_log(SB_LOG_ERROR, "main", "%s", err);
        return -1;
    }
    return 0;
}

/* The node-local services, each when configured: pin worker, metrics, web; then
 * the SIGTERM/SIGINT handlers. db_path: the state database. 0 / -1 (logged where there is
 * something to say). */
static int start_services(const sb_config *cfg, daemon_t *d, const char *db_path)
{
    char err[1024];
    /* Only after the ABCI socket listens: the worker's ingest of history, reconcile and
     * retention run on its threads and never delay CometBFT's connection (protocol.md §10). */
    if (cfg->pin.enabled && !(d->pin = sb_pin_start(cfg, db_path, d->pin_path, err, sizeof(err)))) {
        sb_log(SB_LOG_ERROR, "main", "pin worker: %s", err);
        return -1;
    }
    if (cfg->metrics.laddr[0] &&
        !(d->ms = sb_metrics_server_start(d->base, cfg->metrics.laddr, sb_app_healthy, d->app, err,
                                          sizeof(err)))) {
        sb_log(SB_LOG_ERROR, "main", "%s", err);
        return -1;
    }
    /* Now-playing page and feed (protocol.md §14): own thread, read-only view of db_path. */
    if (cfg->web.laddr[0] && !(d->web = sb_web_start(cfg, db_path, err, sizeof(err)))) {
        sb_log(SB_LOG_ERROR, "main", "%s", err);
        return -1;
    }
    d->sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->sigint = evsignal_new(d->base, SIGINT, on_signal, d);
    if (!d->sigterm || !d->sigint || event_add(d->sigterm, NULL) < 0 ||
        event_add(d->sigint, NULL) < 0)
        return -1;
    return 0;
}

/* Stop and free what cmd_start started (each part may be absent). */
static void daemon_close(daemon_t *d)
{
    sb_autovote_stop(d->agent);
    if (d->sigterm)
        event_free(d->sigterm);
    if (d->sigint)
        event_free(d->sigint);
    sb_web_stop(d->web);
    sb_metrics_server_free(d->ms);
    abci_server_free(d->abci);
    sb_pin_stop(d->pin);
    sb_app_free(d->app);
    sb_store_close(d->store);
    if (d->base)
        event_base_free(d->base);
}

static int cmd_start(const opts *o)
{
    sb_config cfg;
    char path[4200];
    int rc;
    daemon_t d = { 0 };

    if ((rc = start_config(o, &cfg)) != 0)
        return rc;
    sb_log_setup(cfg.log.level, cfg.log.json);
    signal(SIGPIPE, SIG_IGN);
    if (open_state(&cfg, path, sizeof(path), &d.store) < 0)
        return 1;
    rc = 1;
    if (!(d.base = event_base_new()) || start_agent(&cfg, &d) < 0 || start_abci(&cfg, &d) < 0 ||
        start_services(&cfg, &d, path) < 0)
        goto done;
    sb_log(SB_LOG_INFO, "main",
           "sleetbubbled %s: abci %s, metrics %s, web %s, pinning %s, state %s at height %lld",
           SLEETBUBBLE_VERSION, cfg.abci.laddr, cfg.metrics.laddr[0] ? cfg.metrics.laddr : "off",
           cfg.web.laddr[0] ? cfg.web.laddr : "off", cfg.pin.enabled ? "on" : "off", path,
           (long long)sb_app_height(d.app));
    /* Under systemd (Type=notify): ready = the ABCI address accepts. Outside systemd
     * NOTIFY_SOCKET is unset and this does nothing. */
    sd_notifyf(0, "READY=1\nSTATUS=serving ABCI on %s at height %lld", cfg.abci.laddr,
               (long long)sb_app_height(d.app));
    event_base_dispatch(d.base);
    rc = 0;
    sb_log(SB_LOG_INFO, "main", "stopped at height %lld", (long long)sb_app_height(d.app));
done:
    daemon_close(&d);
    return rc;
}

int main(int argc, char **argv)
{
    opts o = { 0 };
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("sleetbubbled %s%s\n", SLEETBUBBLE_VERSION, SB_BUILD_NOTE);
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (parse_opts(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "init") == 0)
        return cmd_init(&o);
    if (strcmp(cmd, "start") == 0)
        return cmd_start(&o);
    fprintf(stderr, "sleetbubbled: unknown command %s\n", cmd);
    usage(stderr);
    return 2;
}
