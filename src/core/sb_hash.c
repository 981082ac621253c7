/* sb_hash.c — SHA-256 helper over OpenSSL EVP. */
#include "sb_hash.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

#include <openssl/evp.h>

/* SHA-256 fetched once: EVP_sha256() in EVP_DigestInit_ex fetches the implementation from the
 * provider on every call, which costs more than hashing a 400-byte tx. Kept for the process
 * (an OpenSSL method object, never freed). */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void) { g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); }

void sb_sha256v(uint8_t out[32], size_t nparts, ...)
{
    va_list ap;
    unsigned int n = 32;
    pthread_once(&g_sha256_once, fetch_sha256);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!g_sha256 || !c || EVP_DigestInit_ex(c, g_sha256, NULL) != 1)
        abort();
    va_start(ap, nparts);
    for (size_t i = 0; i < nparts; i++) {
        const void *p = va_arg(ap, const void *);
        size_t len = va_arg(ap, size_t);
        if (len && EVP_DigestUpdate(c, p, len) != 1)
            abort();
    }
    va_end(ap);
    if (EVP_DigestFinal_ex(c, out, &n) != 1)
        abort();
    EVP_MD_CTX_free(c);
}
