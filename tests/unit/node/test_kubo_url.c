/* test_kubo_url.c - sb_url_for_log (src/core/sb_url.c): a Kubo API URL written with
 * credentials is logged with the password masked (a password never reaches a log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sb_url.h"

static void expect(const char *url, const char *want)
{
    char out[256];
    memset(out, 'x', sizeof(out));
    assert_int_equal(sb_url_for_log(url, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void password_is_masked(void **state)
{
    expect("http://user:pass@host:5001", "http://user:***@host:5001");
    expect("https://user:pass@kubo.example:5001/api/v0/",
           "https://user:***@kubo.example:5001/api/v0/");
    expect("http://:secret@127.0.0.1:5001/api/v0/", "http://:***@127.0.0.1:5001/api/v0/");
    expect("http://user:@host/", "http://user:***@host/");
}

static void unencoded_at_or_slash_in_the_password_is_masked_too(void **state)
{
    expect("http://user:p@ss@host:5001/api/v0/", "http://user:***@host:5001/api/v0/");
    expect("http://user:pa/ss@host:5001/api/v0/", "http://user:***@host:5001/api/v0/");
    expect("http://user:pa:ss@host", "http://user:***@host");
}

static void url_without_password_is_unchanged(void **state)
{
    expect("http://127.0.0.1:5001/api/v0/", "http://127.0.0.1:5001/api/v0/");
    expect("http://[::1]:5001/api/v0/", "http://[::1]:5001/api/v0/");
    expect("http://user@host:5001/", "http://user@host:5001/");
    expect("http://host:5001/api/v0/?arg=a:b@c#x:y@z", "http://host:5001/api/v0/?arg=a:b@c#x:y@z");
    expect("", "");
    expect(NULL, "");
}

/* Every buffer size: NUL-terminated, a prefix of the masked text, never a password byte. */
static void short_buffer_is_cut_without_leaking(void **state)
{
    const char *url = "http://user:SECRETPASSWORD@host:5001/api/v0/";
    const char *masked = "http://user:***@host:5001/api/v0/";
    char out[64];
    for (size_t n = 1; n <= strlen(masked) + 1; n++) {
        memset(out, 'x', sizeof(out));
        int rc = sb_url_for_log(url, out, n);
        assert_int_equal(rc, n > strlen(masked) ? 0 : -1);
        assert_int_equal(strlen(out), n > strlen(masked) ? strlen(masked) : n - 1);
        assert_memory_equal(out, masked, strlen(out));
        assert_null(strpbrk(out, "SECRTPAWOD"));
    }
    assert_int_equal(sb_url_for_log(url, out, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_is_masked),
        cmocka_unit_test(unencoded_at_or_slash_in_the_password_is_masked_too),
        cmocka_unit_test(url_without_password_is_unchanged),
        cmocka_unit_test(short_buffer_is_cut_without_leaking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
