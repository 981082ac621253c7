/* pool.c - the worker pool: CheckTx stateless stage and abci_parallel_map (protocol.md §2).
 *
 * Threads start on first use (the first staged CheckTx or parallel map), so an application
 * that uses neither runs no thread. Workers take, in this order: indices of the active
 * parallel map (the loop thread is inside a ProcessProposal/FinalizeBlock callback and waits
 * for it), then queued CheckTx stages. A finished stage goes to the done list; the first one
 * on an empty list wakes the loop through an eventfd, and the loop hands the results to the
 * check_tx callback in each connection's request order (conn.c).
 *
 * Everything shared is under `mu`; a job belongs to the worker between taking it from the
 * queue and putting it on the done list, and to the loop thread otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "abci-internal.h"

/* Finished stages handled per loop wake-up before other events get their turn. */
#define POOL_DONE_BATCH 256

struct abci_map {
    abci_map_fn fn;
    void *arg;
    size_t n, chunk;
    atomic_size_t next; /* next unclaimed index */
    size_t inside;      /* workers running claims (under mu) */
    size_t err_index;   /* lowest failed index, n if none (under mu) */
    int err_rc;
};

struct abci_pool {
    abci_server *srv; /* borrowed */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers wait for work */
    pthread_cond_t map_cv;  /* the map caller waits for workers to leave the map */
    pthread_t *threads;
    size_t nthreads;
    size_t idle;             /* workers waiting on work_cv */
    size_t wakes;            /* of those, signalled and not yet running */
    abci_job *qhead, *qtail; /* stages waiting for a worker */
    size_t queued;
    abci_job *dhead, *dtail; /* stages done, not yet taken by the loop */
    int wake_pending;        /* eventfd written since the loop last took the done list */
    struct abci_map *map;    /* active parallel map */
    int stop;
    int efd;                 /* eventfd, workers -> loop */
    struct event *ev;        /* loop side of efd */
    abci_job *rhead, *rtail; /* loop thread: taken from done, not yet handled */
    abci_job *bhead, *btail; /* loop thread: submitted, handed to the queue at flush */
    size_t nbatch;
    size_t queued_seen; /* loop thread: `queued` at the last flush */
};

/* ---- workers ------------------------------------------------------------------------------ */

static void map_run(abci_pool *p, struct abci_map *m)
{
    for (;;) {
        size_t i0 = atomic_fetch_add(&m->next, m->chunk);
        if (i0 >= m->n)
            return;
        size_t i1 = m->n - i0 < m->chunk ? m->n : i0 + m->chunk;
        for (size_t i = i0; i < i1; i++) {
            int rc = m->fn(m->arg, i);
            if (rc) {
                pthread_mutex_lock(&p->mu);
                if (i < m->err_index) {
                    m->err_index = i;
                    m->err_rc = rc;
                }
                pthread_mutex_unlock(&p->mu);
            }
        }
    }
}

static void *worker_main(void *arg)
{
    abci_pool *p = arg;
    abci_server *srv = p->srv;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct abci_map *m = p->map;
        if (m && atomic_load(&m->next) < m->n) {
            m->inside++;
            pthread_mutex_unlock(&p->mu);
            map_run(p, m);
            pthread_mutex_lock(&p->mu);
            if (--m->inside == 0)
                pthread_cond_signal(&p->map_cv);
            continue;
        }
        abci_job *j = p->qhead;
        if (j) {
            p->qhead = j->qnext;
            if (!p->qhead)
                p->qtail = NULL;
            p->queued--;
            pthread_mutex_unlock(&p->mu);
            j->stage_rc = srv->app.check_tx_stage(srv->app_arg, &j->ctx, j->req->check_tx,
                                                  &j->ctx.stage_result);
            pthread_mutex_lock(&p->mu);
            j->qnext = NULL;
            if (p->dtail)
                p->dtail->qnext = j;
            else
                p->dhead = j;
            p->dtail = j;
            if (!p->wake_pending) {
                p->wake_pending = 1;
                uint64_t one = 1;
                ssize_t w = write(p->efd, &one, sizeof one); /* cannot block: never 2^64-2 */
                (void)w;
            }
            continue;
        }
        p->idle++;
        pthread_cond_wait(&p->work_cv, &p->mu);
        p->idle--;
        if (p->wakes > 0)
            p->wakes--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- loop side ---------------------------------------------------------------------------- */

static void pool_done_cb(evutil_socket_t fd, short what, void *arg)
{
    abci_pool *p = arg;
    uint64_t v;
    ssize_t r = read(p->efd, &v, sizeof v); /* resets the counter; EAGAIN if activated by us */
    (void)r;
    pthread_mutex_lock(&p->mu);
    if (p->dhead) {
        if (p->rtail)
            p->rtail->qnext = p->dhead;
        else
            p->rhead = p->dhead;
        p->rtail = p->dtail;
        p->dhead = p->dtail = NULL;
    }
    p->wake_pending = 0;
    pthread_mutex_unlock(&p->mu);
    for (int n = 0; n < POOL_DONE_BATCH; n++) {
        abci_job *j = p->rhead;
        if (!j)
            return;
        p->rhead = j->qnext;
        if (!p->rhead)
            p->rtail = NULL;
        j->qnext = NULL;
        if (abci_conn_stage_done(j)) /* drops the job's connection reference */
            return;                  /* the server is shutting down */
    }
    if (p->rhead) /* the rest after the other ready events (consensus first) */
        event_active(p->ev, EV_READ, 1);
}

static size_t online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

/* Start the pool if it is not running. Returns it, or NULL if it cannot run (logged once;
 * callers then do the work on the loop thread). */
static abci_pool *pool_get(abci_server *srv)
{
    if (srv->pool)
        return srv->pool->nthreads ? srv->pool : NULL;
    abci_pool *p = calloc(1, sizeof *p);
    if (!p) {
        abci_log(srv, ABCI_LOG_ERROR, "out of memory starting the worker pool");
        return NULL;
    }
    srv->pool = p;
    p->srv = srv;
    p->efd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->map_cv, NULL);
    size_t want = srv->opts.workers ? srv->opts.workers : online_cpus();
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->ev =
        p->efd >= 0 ? event_new(srv->base, p->efd, EV_READ | EV_PERSIST, pool_done_cb, p) : NULL;
    p->threads = calloc(want, sizeof *p->threads);
    if (!p->ev || !p->threads || event_add(p->ev, NULL) != 0) {
        abci_log(srv, ABCI_LOG_ERROR,
                 "cannot start the worker pool (%s); running its work on "
                 "the loop thread",
                 p->efd < 0 ? strerror(errno) : "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < want; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
            break;
        p->nthreads++;
    }
    if (p->nthreads < want)
        abci_log(srv, ABCI_LOG_WARN, "worker pool: started %zu of %zu threads", p->nthreads, want);
    else
        abci_log(srv, ABCI_LOG_INFO, "worker pool: %zu threads", p->nthreads);
    return p->nthreads ? p : NULL;
}

int abci_pool_submit(abci_server *srv, abci_job *j)
{
    abci_pool *p = pool_get(srv);
    if (!p)
        return -1;
    if (p->queued_seen + p->nbatch >= srv->opts.stage_queue_max) {
        pthread_mutex_lock(&p->mu); /* the workers may have taken some since: look again */
        p->queued_seen = p->queued;
        pthread_mutex_unlock(&p->mu);
        if (p->queued_seen + p->nbatch >= srv->opts.stage_queue_max)
            return -1;
    }
    j->qnext = NULL;
    if (p->btail)
        p->btail->qnext = j;
    else
        p->bhead = j;
    p->btail = j;
    p->nbatch++;
    return 0;
}

void abci_pool_flush(abci_server *srv)
{
    abci_pool *p = srv->pool;
    if (!p || p->nbatch == 0)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->qtail)
        p->qtail->qnext = p->bhead;
    else
        p->qhead = p->bhead;
    p->qtail = p->btail;
    p->queued += p->nbatch;
    /* wake sleeping workers not already on their way, at most one per stage: a batch costs
     * a wake-up per worker, not one per stage (a running worker drains the queue) */
    for (size_t n = p->nbatch; n > 0 && p->idle > p->wakes; n--) {
        p->wakes++;
        pthread_cond_signal(&p->work_cv);
    }
    p->queued_seen = p->queued;
    pthread_mutex_unlock(&p->mu);
    p->bhead = p->btail = NULL;
    p->nbatch = 0;
}

/* Hand every job still in the pool back to its connection (dropping its reference). */
static void release_list(abci_job *j)
{
    while (j) {
        abci_job *next = j->qnext;
        j->qnext = NULL;
        abci_conn_stage_done(j);
        j = next;
    }
}

void abci_pool_stop(abci_server *srv)
{
    abci_pool *p = srv->pool;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
    /* no worker runs now: every job is queued, done, or taken by the loop */
    abci_job *q = p->qhead, *d = p->dhead, *r = p->rhead, *b = p->bhead;
    p->qhead = p->qtail = p->dhead = p->dtail = p->rhead = p->rtail = NULL;
    p->bhead = p->btail = NULL;
    p->queued = p->queued_seen = p->nbatch = 0;
    release_list(q);
    release_list(d);
    release_list(r);
    release_list(b);
}

void abci_pool_free(abci_server *srv)
{
    abci_pool *p = srv->pool;
    if (!p)
        return;
    abci_pool_stop(srv);
    if (p->ev)
        event_free(p->ev);
    if (p->efd >= 0)
        close(p->efd);
    free(p->threads);
    pthread_cond_destroy(&p->map_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    srv->pool = NULL;
}

/* ---- parallel map ------------------------------------------------------------------------- */

static int map_serial(size_t n, abci_map_fn fn, void *arg)
{
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = fn(arg, i);
        if (rc && !first)
            first = rc;
    }
    return first;
}

int abci_parallel_map(abci_ctx *ctx, size_t n, abci_map_fn fn, void *arg)
{
    abci_server *srv = ctx ? ctx->srv : NULL; /* set only during a loop-thread callback */
    if (n == 0)
        return 0;
    abci_pool *p = (srv && n > 1) ? pool_get(srv) : NULL;
    if (!p)
        return map_serial(n, fn, arg);
    pthread_mutex_lock(&p->mu);
    if (p->map) { /* a map inside a map: the outer one already uses the workers */
        pthread_mutex_unlock(&p->mu);
        return map_serial(n, fn, arg);
    }
    struct abci_map m = { .fn = fn, .arg = arg, .n = n, .err_index = n };
    /* claims of a few indices each: cheap to hand out, and the tail stays balanced */
    m.chunk = n / ((p->nthreads + 1) * 8);
    if (m.chunk == 0)
        m.chunk = 1;
    atomic_init(&m.next, 0);
    p->map = &m;
    p->wakes = p->idle; /* every sleeping worker is on its way */
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    map_run(p, &m); /* the loop thread works too */

    pthread_mutex_lock(&p->mu);
    p->map = NULL; /* no worker joins now; wait for those inside */
    while (m.inside > 0)
        pthread_cond_wait(&p->map_cv, &p->mu);
    int rc = m.err_index < n ? m.err_rc : 0;
    pthread_mutex_unlock(&p->mu);
    return rc;
}
