/* sb_hash.c — SHA-256 helper over OpenSSL EVP. */
#include "sb_hash-internal.h"

#include <stdarg.h>
#include <stdlib.h>

#include <openssl/evp.h>

void sb_sha256v(uint8_t out[32], size_t nparts, ...) {
  va_list ap;
  unsigned int n = 32;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) abort();
  va_start(ap, nparts);
  for (size_t i = 0; i < nparts; i++) {
    const void *p = va_arg(ap, const void *);
    size_t len = va_arg(ap, size_t);
    if (len && EVP_DigestUpdate(c, p, len) != 1) abort();
  }
  va_end(ap);
  if (EVP_DigestFinal_ex(c, out, &n) != 1) abort();
  EVP_MD_CTX_free(c);
}
