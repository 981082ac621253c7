/* test_vjournal.c — the vote agent's journal (protocol.md §15 "Exactly once"): a decision
 * survives a restart byte for byte, a torn or corrupt file reads as "no decision" with a
 * reason, a half-written temp file never hides the last good record, and the lock excludes a
 * second holder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vjournal.h"

static char dir[256], path[512], tmp[600], lockp[600];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sbvj.XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/vote-journal", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(lockp, sizeof lockp, "%s.lock", path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unlink(tmp);
    unlink(lockp);
    rmdir(dir);
    return 0;
}

static uint8_t txbytes[300];

static sb_vjournal_rec sample(uint64_t slot)
{
    sb_vjournal_rec r;
    memset(&r, 0, sizeof r);
    r.slot = slot;
    for (int i = 0; i < 32; i++)
        r.proposal_id[i] = (uint8_t)(i * 7 + slot);
    for (size_t i = 0; i < sizeof txbytes; i++)
        txbytes[i] = (uint8_t)(i ^ slot);
    r.tx = txbytes;
    r.txlen = sizeof txbytes;
    return r;
}

static void truncate_to(size_t n) { assert_int_equal(truncate(path, (off_t)n), 0); }

static void missing_journal_is_no_decision_without_error(void **state)
{
    sb_vjournal_rec r;
    char err[512];
    assert_int_equal(sb_vjournal_read(path, &r, err, sizeof err), 0);
    assert_string_equal(err, "");
}

static void decision_survives_a_restart_byte_for_byte(void **state)
{
    sb_vjournal_rec w = sample(0x0102030405060708ull), r;
    char err[512];
    assert_int_equal(sb_vjournal_write(path, &w, err, sizeof err), 0);
    /* "restart": nothing kept in memory, read from the file alone */
    assert_int_equal(sb_vjournal_read(path, &r, err, sizeof err), 1);
    assert_true(r.slot == 0x0102030405060708ull);
    assert_memory_equal(r.proposal_id, w.proposal_id, 32);
    assert_int_equal(r.txlen, w.txlen);
    assert_memory_equal(r.tx, txbytes, w.txlen);
    sb_vjournal_rec_free(&r);
    /* a later decision replaces it: the file holds one record, its size never grows */
    struct stat st1, st2;
    assert_int_equal(stat(path, &st1), 0);
    w = sample(9);
    assert_int_equal(sb_vjournal_write(path, &w, err, sizeof err), 0);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st1.st_size, st2.st_size);
    assert_int_equal(st2.st_mode & 0777, 0600);
    assert_int_equal(sb_vjournal_read(path, &r, err, sizeof err), 1);
    assert_int_equal(r.slot, 9);
    sb_vjournal_rec_free(&r);
}

static void torn_journal_reads_as_no_decision(void **state)
{
    sb_vjournal_rec w = sample(5), r;
    char err[512];
    struct stat st;
    assert_int_equal(sb_vjournal_write(path, &w, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    /* every cut of the record, from empty to one byte short */
    for (size_t cut = 0; cut < (size_t)st.st_size; cut += 13) {
        assert_int_equal(sb_vjournal_write(path, &w, err, sizeof err), 0);
        truncate_to(cut);
        assert_int_equal(sb_vjournal_read(path, &r, err, sizeof err), 0);
        assert_non_null(strstr(err, path));
        assert_null(r.tx);
    }
    /* a flipped byte in the tx: checksum */
    assert_int_equal(sb_vjournal_write(path, &w, err, sizeof err), 0);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b = 0xff;
    assert_int_equal(pwrite(fd, &b, 1, 100), 1);
    close(fd);
    assert_int_equal(sb_vjournal_read(path, &r, err, sizeof err), 0);
    assert_non_null(strstr(err, "checksum"));
}

static void half_written_temp_file_keeps_the_last_record(void **state)
{
    sb_vjournal_rec w = sample(11), r;
    char err[512];
    assert_int_equal(sb_vjournal_write(path, &w, err, sizeof err), 0);
    /* a crash while writing the next record leaves a partial path.tmp behind */
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("SBVJ1\n\x00\x00", f);
    fclose(f);
    assert_int_equal(sb_vjournal_read(path, &r, err, sizeof err), 1);
    assert_int_equal(r.slot, 11);
    sb_vjournal_rec_free(&r);
    /* and the next write goes through */
    w = sample(12);
    assert_int_equal(sb_vjournal_write(path, &w, err, sizeof err), 0);
    assert_int_equal(sb_vjournal_read(path, &r, err, sizeof err), 1);
    assert_int_equal(r.slot, 12);
    sb_vjournal_rec_free(&r);
}

static void lock_excludes_a_second_holder(void **state)
{
    char err[512];
    int a = sb_vjournal_lock(path, err, sizeof err);
    assert_true(a >= 0);
    assert_int_equal(sb_vjournal_lock(path, err, sizeof err), -2);
    sb_vjournal_unlock(a);
    int b = sb_vjournal_lock(path, err, sizeof err);
    assert_true(b >= 0);
    sb_vjournal_unlock(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_journal_is_no_decision_without_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(decision_survives_a_restart_byte_for_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_journal_reads_as_no_decision, setup, teardown),
        cmocka_unit_test_setup_teardown(half_written_temp_file_keeps_the_last_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lock_excludes_a_second_holder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
