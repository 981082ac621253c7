/* sigcache.c - see sigcache.h (protocol.md §4 signatures, §4.1). Node-local: nothing here
 * reaches consensus state; a verification's result is the same whether it comes from here or
 * from sb_ed25519_verify. */
#include "sigcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ed25519.h"
#include "sb_buf.h"
#include "tx.h"

#define WAYS 16
#define STRIPES 64 /* mutexes; set i uses stripe i % STRIPES */

enum { E_EMPTY = 0, E_FALSE = 1, E_TRUE = 2 };

typedef struct entry {
    uint8_t key[32];
    uint8_t state; /* E_* */
} entry;

typedef struct set {
    entry e[WAYS];
    uint8_t next; /* round-robin victim */
} set;

struct sb_sigcache {
    size_t nsets; /* power of two */
    set *sets;
    pthread_mutex_t mu[STRIPES];
    atomic_uint_fast64_t hits, misses;
};

static atomic_uint_fast64_t g_verifies;

sb_sigcache *sb_sigcache_new(size_t entries, int *oom)
{
    if (oom)
        *oom = 0;
    if (entries == 0)
        return NULL;
    size_t nsets = 1;
    while (nsets * WAYS < entries && nsets < ((size_t)1 << 40))
        nsets <<= 1;
    sb_sigcache *c = calloc(1, sizeof(*c));
    if (c)
        c->sets = calloc(nsets, sizeof(*c->sets));
    if (!c || !c->sets) {
        free(c);
        if (oom)
            *oom = 1;
        return NULL;
    }
    c->nsets = nsets;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->mu[i], NULL);
    atomic_init(&c->hits, 0);
    atomic_init(&c->misses, 0);
    return c;
}

void sb_sigcache_free(sb_sigcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->mu[i]);
    free(c->sets);
    free(c);
}

size_t sb_sigcache_capacity(const sb_sigcache *c) { return c ? c->nsets * WAYS : 0; }

void sb_sigcache_clear(sb_sigcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_lock(&c->mu[i]);
    memset(c->sets, 0, c->nsets * sizeof(*c->sets));
    for (size_t i = STRIPES; i > 0; i--)
        pthread_mutex_unlock(&c->mu[i - 1]);
}

void sb_sigcache_key(uint8_t key[32], const uint8_t pub[32], const uint8_t *msg, size_t len,
                     const uint8_t sig[64])
{
    unsigned int n = 32;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, pub, 32) != 1 || (len && EVP_DigestUpdate(md, msg, len) != 1) ||
        EVP_DigestUpdate(md, sig, 64) != 1 || EVP_DigestFinal_ex(md, key, &n) != 1)
        abort(); /* out of memory in OpenSSL: never return a wrong key */
    EVP_MD_CTX_free(md);
}

static size_t set_of(const sb_sigcache *c, const uint8_t key[32])
{
    uint64_t v;
    memcpy(&v, key, sizeof v); /* a SHA-256 output: any 8 bytes are uniform */
    return (size_t)(v & (c->nsets - 1));
}

int sb_sigcache_get(sb_sigcache *c, const uint8_t key[32])
{
    if (!c)
        return -1;
    size_t si = set_of(c, key);
    int r = -1;
    pthread_mutex_lock(&c->mu[si % STRIPES]);
    const set *s = &c->sets[si];
    for (size_t w = 0; w < WAYS; w++)
        if (s->e[w].state != E_EMPTY && memcmp(s->e[w].key, key, 32) == 0)
            r = s->e[w].state == E_TRUE;
    pthread_mutex_unlock(&c->mu[si % STRIPES]);
    atomic_fetch_add(r < 0 ? &c->misses : &c->hits, 1);
    return r;
}

void sb_sigcache_put(sb_sigcache *c, const uint8_t key[32], int ok)
{
    if (!c)
        return;
    size_t si = set_of(c, key);
    pthread_mutex_lock(&c->mu[si % STRIPES]);
    set *s = &c->sets[si];
    size_t w;
    for (w = 0; w < WAYS; w++) /* already there (another thread did the same verification) */
        if (s->e[w].state != E_EMPTY && memcmp(s->e[w].key, key, 32) == 0)
            break;
    if (w == WAYS) {
        w = s->next;
        s->next = (uint8_t)((s->next + 1) % WAYS);
    }
    memcpy(s->e[w].key, key, 32);
    s->e[w].state = ok ? E_TRUE : E_FALSE;
    pthread_mutex_unlock(&c->mu[si % STRIPES]);
}

int sb_sigcache_verify(sb_sigcache *c, const uint8_t key[32], const uint8_t pub[32],
                       const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    int r = sb_sigcache_get(c, key);
    if (r >= 0)
        return r;
    r = sb_ed25519_verify(pub, msg, len, sig);
    atomic_fetch_add(&g_verifies, 1);
    sb_sigcache_put(c, key, r);
    return r;
}

void sb_sigcache_stats_get(const sb_sigcache *c, sb_sigcache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (c) {
        out->hits = atomic_load(&((sb_sigcache *)c)->hits);
        out->misses = atomic_load(&((sb_sigcache *)c)->misses);
    }
    out->verifies = atomic_load(&g_verifies);
}

int sb_sig_facts_compute(const sb_params *p, sb_sigcache *c, const uint8_t *bytes, size_t len,
                         sb_sig_facts *f)
{
    sb_tx t;
    sb_buf msg;
    uint8_t pub[32];
    memset(f, 0, sizeof(*f));
    int rc = sb_tx_decode(bytes, len, p->max_tx_size, &t, NULL, 0);
    if (rc != 0) { /* ENCODING: no signature stage; < 0: out of memory, no facts */
        sb_tx_free(&t);
        return rc < 0 ? -1 : 0;
    }
    f->decoded = 1;
    sb_buf_init(&msg, (size_t)p->max_tx_size + 64);
    if (sb_tx_sign_message(t.kind, t.tx->body.data, t.tx->body.len, &msg) < 0) {
        sb_buf_free(&msg);
        sb_tx_free(&t);
        memset(f, 0, sizeof(*f));
        return -1;
    }
    sb_tx_sig_key(p, &t, pub);
    sb_sigcache_key(f->key, pub, msg.data, msg.len, t.tx->signature.data);
    f->ok = sb_sigcache_verify(c, f->key, pub, msg.data, msg.len, t.tx->signature.data);
    f->verified = 1;
    sb_buf_free(&msg);
    sb_tx_free(&t);
    return 0;
}

int sb_sig_oracle_verify(void *arg, const uint8_t pub[32], const uint8_t *msg, size_t len,
                         const uint8_t sig[64])
{
    const sb_sig_oracle *o = arg;
    uint8_t key[32];
    sb_sigcache_key(key, pub, msg, len, sig);
    if (o->facts && o->facts->verified && memcmp(o->facts->key, key, 32) == 0)
        return o->facts->ok;
    return sb_sigcache_verify(o->cache, key, pub, msg, len, sig);
}
