/* pin_sched.c - the pure parts of the pinning worker (protocol.md §10): retry schedule and the job
 * state machine. No I/O, no clock, no randomness: inputs in, outputs out (see pin.h). */
#include <string.h>

#include "pin.h"

uint64_t sb_pin_backoff_ms(uint32_t attempt, int32_t jitter_permille)
{
    if (attempt == 0)
        attempt = 1;
    if (jitter_permille > SB_PIN_JITTER_PERMILLE)
        jitter_permille = SB_PIN_JITTER_PERMILLE;
    if (jitter_permille < -SB_PIN_JITTER_PERMILLE)
        jitter_permille = -SB_PIN_JITTER_PERMILLE;
    uint64_t d = SB_PIN_BACKOFF_CAP_MS;
    if (attempt - 1 < 20) {
        d = (uint64_t)SB_PIN_BACKOFF_BASE_MS << (attempt - 1);
        if (d > SB_PIN_BACKOFF_CAP_MS)
            d = SB_PIN_BACKOFF_CAP_MS;
    }
    d = d * (uint64_t)(1000 + jitter_permille) / 1000u;
    if (d > SB_PIN_BACKOFF_CAP_MS)
        d = SB_PIN_BACKOFF_CAP_MS;
    if (d < SB_PIN_BACKOFF_MIN_MS)
        d = SB_PIN_BACKOFF_MIN_MS;
    return d;
}

static const char *const state_names[SB_PIN_NSTATES] = { "queued", "pinning", "pinned", "failed" };

const char *sb_pin_state_name(sb_pin_state s)
{
    return (unsigned)s < SB_PIN_NSTATES ? state_names[s] : "?";
}

int sb_pin_state_parse(const char *name)
{
    for (int i = 0; name && i < SB_PIN_NSTATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int sb_pin_transition(const sb_pin_job_state *in, sb_pin_event ev, int64_t now_ms,
                      uint32_t max_attempts, int32_t jitter_permille, sb_pin_job_state *out)
{
    sb_pin_job_state r = *in;
    uint32_t n = in->attempts == UINT32_MAX ? UINT32_MAX : in->attempts + 1;
    switch (ev) {
    case SB_PIN_EV_CLAIM:
        if (in->state != SB_PIN_QUEUED || in->next_try_ms > now_ms)
            return -1;
        r.state = SB_PIN_PINNING;
        break;
    case SB_PIN_EV_SUCCESS:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.state = SB_PIN_PINNED;
        r.attempts = n;
        r.next_try_ms = 0;
        break;
    case SB_PIN_EV_RETRY:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.attempts = n;
        if (max_attempts != 0 && n >= max_attempts) {
            r.state = SB_PIN_FAILED;
            r.next_try_ms = 0;
        } else {
            r.state = SB_PIN_QUEUED;
            r.next_try_ms = now_ms + (int64_t)sb_pin_backoff_ms(n, jitter_permille);
        }
        break;
    case SB_PIN_EV_FATAL:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.state = SB_PIN_FAILED;
        r.attempts = n;
        r.next_try_ms = 0;
        break;
    case SB_PIN_EV_ABORT:
    case SB_PIN_EV_RESTART:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.state = SB_PIN_QUEUED;
        r.next_try_ms = now_ms;
        break;
    case SB_PIN_EV_MISSING:
        if (in->state != SB_PIN_PINNED)
            return -1;
        r.state = SB_PIN_QUEUED;
        r.attempts = 0;
        r.next_try_ms = now_ms;
        break;
    case SB_PIN_EV_FOUND:
        if (in->state != SB_PIN_QUEUED)
            return -1;
        r.state = SB_PIN_PINNED;
        r.next_try_ms = 0;
        break;
    case SB_PIN_EV_REQUEUE:
        if (in->state != SB_PIN_FAILED)
            return -1;
        r.state = SB_PIN_QUEUED;
        r.attempts = 0;
        r.next_try_ms = now_ms;
        break;
    default: return -1;
    }
    *out = r;
    return 0;
}
