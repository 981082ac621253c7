/* test_filter.h - ABCI_TEST_FILTER for the abci unit tests (tests only). A filter runs fewer
 * cases, so it is refused (exit 1, one line on stderr) unless SB_ALLOW_SKIP=1 (never set in
 * CI) allows it; then the subset is announced on stderr. No silent partial runs. */
#ifndef ABCI_TEST_FILTER_H
#define ABCI_TEST_FILTER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Call at the top of main(), after including <cmocka.h>. Exits 1 on a refused filter. */
static inline void abci_test_filter_from_env(void)
{
    const char *f = getenv("ABCI_TEST_FILTER");
    if (!f)
        return;
    const char *allow = getenv("SB_ALLOW_SKIP");
    if (!allow || strcmp(allow, "1") != 0) {
        fprintf(stderr,
                "ABCI_TEST_FILTER=%s would run only the matching tests: refused "
                "(set SB_ALLOW_SKIP=1 to run a subset)\n",
                f);
        exit(1);
    }
    fprintf(stderr, "PARTIAL RUN: only tests matching ABCI_TEST_FILTER=%s (SB_ALLOW_SKIP=1)\n", f);
    cmocka_set_test_filter(f);
}

#endif
