/* test_sigcache.c - the node-local signature cache (sigcache.h, protocol.md §4.1): keys,
 * bounded size, clear, a NULL cache, verifications remembered only when done, and four
 * threads filling and reading it at once (labelled tsan: scripts/test runs it under
 * ThreadSanitizer). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ed25519.h"
#include "sigcache.h"

/* A key whose first byte says the result we store for it (a fake, for the cache alone). */
static void fake_key(uint8_t key[32], uint32_t thread, uint32_t i)
{
    uint8_t pub[32] = { 0 }, sig[64] = { 0 };
    memcpy(pub, &thread, sizeof thread);
    memcpy(sig, &i, sizeof i);
    sb_sigcache_key(key, pub, (const uint8_t *)"m", 1, sig);
}

static void keys_name_exactly_one_verification(void **state)
{
    uint8_t pub[32] = { 1 }, sig[64] = { 2 }, k[4][32];
    sb_sigcache_key(k[0], pub, (const uint8_t *)"ab", 2, sig);
    pub[31] ^= 1;
    sb_sigcache_key(k[1], pub, (const uint8_t *)"ab", 2, sig);
    pub[31] ^= 1;
    sig[63] ^= 1;
    sb_sigcache_key(k[2], pub, (const uint8_t *)"ab", 2, sig);
    sig[63] ^= 1;
    sb_sigcache_key(k[3], pub, (const uint8_t *)"ac", 2, sig);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            assert_memory_not_equal(k[i], k[j], 32);
}

static void bounded_and_cleared(void **state)
{
    sb_sigcache *c = sb_sigcache_new(100, NULL);
    assert_non_null(c);
    assert_int_equal(sb_sigcache_capacity(c), 128);
    uint8_t k[32];
    for (uint32_t i = 0; i < 10000; i++) {
        fake_key(k, 0, i);
        sb_sigcache_put(c, k, (int)(i & 1));
    }
    size_t held = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        fake_key(k, 0, i);
        int r = sb_sigcache_get(c, k);
        if (r >= 0) {
            assert_int_equal(r, (int)(i & 1));
            held++;
        }
    }
    assert_true(held > 0 && held <= 128);
    fake_key(k, 0, 9999); /* the last one put is always there */
    assert_int_equal(sb_sigcache_get(c, k), 1);
    sb_sigcache_clear(c);
    assert_int_equal(sb_sigcache_get(c, k), -1);
    sb_sigcache_free(c);
    assert_null(sb_sigcache_new(0, NULL));
    assert_int_equal(sb_sigcache_get(NULL, k), -1);
    sb_sigcache_put(NULL, k, 1);
    assert_int_equal(sb_sigcache_capacity(NULL), 0);
}

/* A real verification is done once, then answered from the cache; a NULL cache verifies
 * every time; valid and invalid results are both remembered. */
static void verifications_are_remembered_when_done(void **state)
{
    uint8_t seed[32], pub[32], sig[64], key[32], bad[64];
    memset(seed, 7, 32);
    assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
    assert_int_equal(sb_ed25519_sign(seed, (const uint8_t *)"msg", 3, sig), 0);
    memcpy(bad, sig, 64);
    bad[0] ^= 1;
    sb_sigcache *c = sb_sigcache_new(16, NULL);
    sb_sigcache_stats st0, st1;
    sb_sigcache_stats_get(c, &st0);
    sb_sigcache_key(key, pub, (const uint8_t *)"msg", 3, sig);
    assert_int_equal(sb_sigcache_get(c, key), -1);
    assert_int_equal(sb_sigcache_verify(c, key, pub, (const uint8_t *)"msg", 3, sig), 1);
    assert_int_equal(sb_sigcache_verify(c, key, pub, (const uint8_t *)"msg", 3, sig), 1);
    sb_sigcache_key(key, pub, (const uint8_t *)"msg", 3, bad);
    assert_int_equal(sb_sigcache_verify(c, key, pub, (const uint8_t *)"msg", 3, bad), 0);
    assert_int_equal(sb_sigcache_verify(c, key, pub, (const uint8_t *)"msg", 3, bad), 0);
    sb_sigcache_stats_get(c, &st1);
    assert_int_equal(st1.verifies - st0.verifies, 2);
    assert_int_equal(st1.hits - st0.hits, 2);
    assert_int_equal(sb_sigcache_verify(NULL, key, pub, (const uint8_t *)"msg", 3, bad), 0);
    sb_sigcache_stats_get(c, &st0);
    assert_int_equal(st0.verifies - st1.verifies, 1);
    sb_sigcache_free(c);
}

typedef struct thr {
    sb_sigcache *c;
    uint32_t id;
    int wrong;
} thr;

static void *filler(void *arg)
{
    thr *t = arg;
    uint8_t k[32];
    for (uint32_t round = 0; round < 4; round++)
        for (uint32_t i = 0; i < 2000; i++) {
            fake_key(k, t->id, i);
            int r = sb_sigcache_get(t->c, k);
            if (r >= 0 && r != (int)((i + t->id) & 1))
                t->wrong++;
            if (r < 0)
                sb_sigcache_put(t->c, k, (int)((i + t->id) & 1));
            if (i % 500 == 0 && t->id == 0 && round == 2)
                sb_sigcache_clear(t->c);
        }
    return NULL;
}

static void threads_fill_and_read_at_once(void **state)
{
    sb_sigcache *c = sb_sigcache_new(4096, NULL);
    thr t[4];
    pthread_t th[4];
    for (uint32_t i = 0; i < 4; i++) {
        t[i] = (thr){ c, i, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, filler, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].wrong, 0);
    }
    sb_sigcache_stats st;
    sb_sigcache_stats_get(c, &st);
    assert_true(st.hits > 0 && st.misses > 0);
    sb_sigcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_name_exactly_one_verification),
        cmocka_unit_test(bounded_and_cleared),
        cmocka_unit_test(verifications_are_remembered_when_done),
        cmocka_unit_test(threads_fill_and_read_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
