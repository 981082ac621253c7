/* test_pin_sched.c - the pin worker's pure parts (protocol.md §10): retry backoff schedule and the
 * job state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pin.h"

static void backoff_starts_at_two_seconds_and_doubles(void **state)
{
    assert_int_equal(sb_pin_backoff_ms(1, 0), 2000);
    assert_int_equal(sb_pin_backoff_ms(2, 0), 4000);
    assert_int_equal(sb_pin_backoff_ms(3, 0), 8000);
    assert_int_equal(sb_pin_backoff_ms(9, 0), 512000);
}

static void backoff_attempt_zero_is_treated_as_first_retry(void **state)
{
    assert_int_equal(sb_pin_backoff_ms(0, 0), 2000);
}

static void backoff_is_capped_at_ten_minutes(void **state)
{
    assert_int_equal(sb_pin_backoff_ms(10, 0), 600000);
    assert_int_equal(sb_pin_backoff_ms(20, 0), 600000);
    assert_int_equal(sb_pin_backoff_ms(21, 0), 600000);
    assert_int_equal(sb_pin_backoff_ms(64, 0), 600000);
    assert_int_equal(sb_pin_backoff_ms(UINT32_MAX, 0), 600000);
    /* Jitter never pushes past the cap. */
    for (int32_t j = -200; j <= 200; j++)
        assert_true(sb_pin_backoff_ms(30, j) <= 600000);
    assert_int_equal(sb_pin_backoff_ms(30, -200), 480000);
}

static void backoff_jitter_stays_within_twenty_percent(void **state)
{
    for (uint32_t a = 1; a <= 9; a++) {
        uint64_t d = sb_pin_backoff_ms(a, 0);
        for (int32_t j = -200; j <= 200; j++) {
            uint64_t v = sb_pin_backoff_ms(a, j);
            assert_true(v * 1000 >= d * 800);
            assert_true(v * 1000 <= d * 1200);
        }
        uint64_t hi = d * 12 / 10 > 600000 ? 600000 : d * 12 / 10; /* the cap holds */
        assert_int_equal(sb_pin_backoff_ms(a, -200), d * 8 / 10);
        assert_int_equal(sb_pin_backoff_ms(a, 200), hi);
    }
}

static void backoff_jitter_out_of_range_is_clamped(void **state)
{
    assert_int_equal(sb_pin_backoff_ms(1, 5000), 2400);
    assert_int_equal(sb_pin_backoff_ms(1, -5000), 1600);
    assert_int_equal(sb_pin_backoff_ms(1, INT32_MIN), 1600);
    assert_int_equal(sb_pin_backoff_ms(1, INT32_MAX), 2400);
}

static void backoff_grows_monotonically_without_jitter(void **state)
{
    uint64_t prev = 0;
    for (uint32_t a = 1; a < 40; a++) {
        uint64_t v = sb_pin_backoff_ms(a, 0);
        assert_true(v >= prev);
        prev = v;
    }
}

static void state_names_round_trip(void **state)
{
    const char *n[] = { "queued", "pinning", "pinned", "failed" };
    for (int i = 0; i < 4; i++) {
        assert_string_equal(sb_pin_state_name((sb_pin_state)i), n[i]);
        assert_int_equal(sb_pin_state_parse(n[i]), i);
    }
    assert_int_equal(sb_pin_state_parse("PINNED"), -1);
    assert_int_equal(sb_pin_state_parse(""), -1);
    assert_int_equal(sb_pin_state_parse(NULL), -1);
    assert_string_equal(sb_pin_state_name(SB_PIN_NSTATES), "?");
}

static sb_pin_job_state js(sb_pin_state s, uint32_t a, int64_t t)
{
    sb_pin_job_state r = { s, a, t };
    return r;
}

static void claim_takes_a_due_queued_job(void **state)
{
    sb_pin_job_state in = js(SB_PIN_QUEUED, 2, 1000), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_CLAIM, 1000, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_PINNING);
    assert_int_equal(out.attempts, 2);
}

static void claim_before_next_try_is_refused(void **state)
{
    sb_pin_job_state in = js(SB_PIN_QUEUED, 1, 5000), out = js(SB_PIN_FAILED, 99, 99);
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_CLAIM, 4999, 0, 0, &out), -1);
    /* out untouched on refusal */
    assert_int_equal(out.state, SB_PIN_FAILED);
    assert_int_equal(out.attempts, 99);
}

static void claim_of_pinned_failed_or_pinning_job_is_refused(void **state)
{
    sb_pin_job_state out;
    sb_pin_state bad[] = { SB_PIN_PINNING, SB_PIN_PINNED, SB_PIN_FAILED };
    for (int i = 0; i < 3; i++) {
        sb_pin_job_state in = js(bad[i], 0, 0);
        assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_CLAIM, 1000, 0, 0, &out), -1);
    }
}

static void success_marks_pinned_and_counts_the_attempt(void **state)
{
    sb_pin_job_state in = js(SB_PIN_PINNING, 0, 0), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_SUCCESS, 7, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_PINNED);
    assert_int_equal(out.attempts, 1);
    assert_int_equal(out.next_try_ms, 0);
}

static void success_only_from_pinning(void **state)
{
    sb_pin_job_state out;
    sb_pin_state bad[] = { SB_PIN_QUEUED, SB_PIN_PINNED, SB_PIN_FAILED };
    for (int i = 0; i < 3; i++) {
        sb_pin_job_state in = js(bad[i], 0, 0);
        assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_SUCCESS, 0, 0, 0, &out), -1);
        assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_RETRY, 0, 0, 0, &out), -1);
        assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_FATAL, 0, 0, 0, &out), -1);
        assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_ABORT, 0, 0, 0, &out), -1);
        assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_RESTART, 0, 0, 0, &out), -1);
    }
}

static void retry_requeues_with_backoff_and_more_attempts(void **state)
{
    sb_pin_job_state in = js(SB_PIN_PINNING, 0, 0), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_RETRY, 100000, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_QUEUED);
    assert_int_equal(out.attempts, 1);
    assert_int_equal(out.next_try_ms, 102000);
    in = js(SB_PIN_PINNING, 3, 0);
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_RETRY, 100000, 0, 200, &out), 0);
    assert_int_equal(out.attempts, 4);
    assert_int_equal(out.next_try_ms, 100000 + 16000 * 12 / 10);
}

static void retry_with_unlimited_attempts_never_fails(void **state)
{
    sb_pin_job_state s = js(SB_PIN_PINNING, 0, 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sb_pin_transition(&s, SB_PIN_EV_RETRY, 0, 0, 0, &s), 0);
        assert_int_equal(s.state, SB_PIN_QUEUED);
        assert_true(s.next_try_ms <= 600000);
        assert_int_equal(sb_pin_transition(&s, SB_PIN_EV_CLAIM, s.next_try_ms, 0, 0, &s), 0);
    }
    assert_int_equal(s.attempts, 1000);
}

static void retry_reaching_max_attempts_fails_the_job(void **state)
{
    sb_pin_job_state s = js(SB_PIN_PINNING, 0, 0);
    assert_int_equal(sb_pin_transition(&s, SB_PIN_EV_RETRY, 0, 3, 0, &s), 0);
    assert_int_equal(s.state, SB_PIN_QUEUED);
    assert_int_equal(sb_pin_transition(&s, SB_PIN_EV_CLAIM, s.next_try_ms, 3, 0, &s), 0);
    assert_int_equal(sb_pin_transition(&s, SB_PIN_EV_RETRY, 0, 3, 0, &s), 0);
    assert_int_equal(s.state, SB_PIN_QUEUED);
    assert_int_equal(sb_pin_transition(&s, SB_PIN_EV_CLAIM, s.next_try_ms, 3, 0, &s), 0);
    assert_int_equal(sb_pin_transition(&s, SB_PIN_EV_RETRY, 0, 3, 0, &s), 0);
    assert_int_equal(s.state, SB_PIN_FAILED);
    assert_int_equal(s.attempts, 3);
}

static void max_attempts_one_fails_on_first_error(void **state)
{
    sb_pin_job_state in = js(SB_PIN_PINNING, 0, 0), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_RETRY, 0, 1, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_FAILED);
    assert_int_equal(out.attempts, 1);
}

static void fatal_error_fails_without_retry(void **state)
{
    sb_pin_job_state in = js(SB_PIN_PINNING, 0, 0), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_FATAL, 5, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_FAILED);
    assert_int_equal(out.attempts, 1);
}

static void abort_and_restart_requeue_without_counting(void **state)
{
    sb_pin_job_state in = js(SB_PIN_PINNING, 4, 0), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_ABORT, 777, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_QUEUED);
    assert_int_equal(out.attempts, 4);
    assert_int_equal(out.next_try_ms, 777);
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_RESTART, 778, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_QUEUED);
    assert_int_equal(out.attempts, 4);
    assert_int_equal(out.next_try_ms, 778);
}

static void missing_pin_requeues_a_pinned_job_with_fresh_attempts(void **state)
{
    sb_pin_job_state in = js(SB_PIN_PINNED, 6, 0), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_MISSING, 50, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_QUEUED);
    assert_int_equal(out.attempts, 0);
    assert_int_equal(out.next_try_ms, 50);
    in = js(SB_PIN_QUEUED, 0, 0);
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_MISSING, 50, 0, 0, &out), -1);
}

static void found_pin_marks_a_queued_job_pinned(void **state)
{
    sb_pin_job_state in = js(SB_PIN_QUEUED, 2, 999999), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_FOUND, 50, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_PINNED);
    in = js(SB_PIN_PINNING, 0, 0);
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_FOUND, 50, 0, 0, &out), -1);
}

static void requeue_only_revives_failed_jobs(void **state)
{
    sb_pin_job_state in = js(SB_PIN_FAILED, 9, 0), out;
    assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_REQUEUE, 10, 0, 0, &out), 0);
    assert_int_equal(out.state, SB_PIN_QUEUED);
    assert_int_equal(out.attempts, 0);
    assert_int_equal(out.next_try_ms, 10);
    sb_pin_state bad[] = { SB_PIN_QUEUED, SB_PIN_PINNING, SB_PIN_PINNED };
    for (int i = 0; i < 3; i++) {
        in = js(bad[i], 0, 0);
        assert_int_equal(sb_pin_transition(&in, SB_PIN_EV_REQUEUE, 10, 0, 0, &out), -1);
    }
}

static void failed_is_terminal_for_worker_events(void **state)
{
    sb_pin_job_state in = js(SB_PIN_FAILED, 1, 0), out;
    for (int ev = SB_PIN_EV_CLAIM; ev <= SB_PIN_EV_FOUND; ev++)
        assert_int_equal(sb_pin_transition(&in, (sb_pin_event)ev, 1 << 30, 0, 0, &out), -1);
}

static void unknown_event_is_refused(void **state)
{
    sb_pin_job_state in = js(SB_PIN_PINNING, 0, 0), out;
    assert_int_equal(sb_pin_transition(&in, (sb_pin_event)99, 0, 0, 0, &out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_starts_at_two_seconds_and_doubles),
        cmocka_unit_test(backoff_attempt_zero_is_treated_as_first_retry),
        cmocka_unit_test(backoff_is_capped_at_ten_minutes),
        cmocka_unit_test(backoff_jitter_stays_within_twenty_percent),
        cmocka_unit_test(backoff_jitter_out_of_range_is_clamped),
        cmocka_unit_test(backoff_grows_monotonically_without_jitter),
        cmocka_unit_test(state_names_round_trip),
        cmocka_unit_test(claim_takes_a_due_queued_job),
        cmocka_unit_test(claim_before_next_try_is_refused),
        cmocka_unit_test(claim_of_pinned_failed_or_pinning_job_is_refused),
        cmocka_unit_test(success_marks_pinned_and_counts_the_attempt),
        cmocka_unit_test(success_only_from_pinning),
        cmocka_unit_test(retry_requeues_with_backoff_and_more_attempts),
        cmocka_unit_test(retry_with_unlimited_attempts_never_fails),
        cmocka_unit_test(retry_reaching_max_attempts_fails_the_job),
        cmocka_unit_test(max_attempts_one_fails_on_first_error),
        cmocka_unit_test(fatal_error_fails_without_retry),
        cmocka_unit_test(abort_and_restart_requeue_without_counting),
        cmocka_unit_test(missing_pin_requeues_a_pinned_job_with_fresh_attempts),
        cmocka_unit_test(found_pin_marks_a_queued_job_pinned),
        cmocka_unit_test(requeue_only_revives_failed_jobs),
        cmocka_unit_test(failed_is_terminal_for_worker_events),
        cmocka_unit_test(unknown_event_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
