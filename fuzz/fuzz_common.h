/* fuzz_common.h - shared by the fuzz targets (libFuzzer build) and fuzz_main.c (replay build).
 *
 * A target defines LLVMFuzzerTestOneInput and may define LLVMFuzzerInitialize,
 * LLVMFuzzerCustomMutator, and for the ctest replay fuzz_replay_check (extra checks run once
 * per corpus file) and fuzz_replay_summary (text appended to the replay's last line). */
#ifndef SB_FUZZ_COMMON_H
#define SB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Invariant check: on violation print where and what, then abort() (libFuzzer saves the
 * input as a crash; the replay fails). */
#define FUZZ_CHECK(cond, what)                                                                  \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: invariant violated: %s (%s)\n", __FILE__, __LINE__, (what), \
                    #cond);                                                                     \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

/* libFuzzer's mutator (the replay build supplies a deterministic one). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Optional hooks of the replay build (weak: a target need not define them). */
__attribute__((weak)) void fuzz_replay_check(const char *name, const uint8_t *data, size_t size);
__attribute__((weak)) const char *fuzz_replay_summary(void);

#endif
