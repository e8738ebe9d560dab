/* test_login_limit.c: failed logins counted per address (daemon/login_limit.c): the limit, the
 * window, other addresses untouched, the table's bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "login_limit.h"

#define MINUTE_US ((int64_t)60 * 1000000)
#define T0        (1000 * MINUTE_US) /* any monotonic reading */

static int fresh_limit_of_three(void **state)
{
    (void)state;
    login_limit_reset();
    login_limit_configure(3);
    return 0;
}

static void fail_logins(const char *addr, int times, int64_t at)
{
    for (int i = 0; i < times; i++)
        login_limit_failed(addr, at);
}

static void address_is_refused_after_the_limit_until_the_window_passes(void **state)
{
    (void)state;
    int minutes = -1;
    fail_logins("192.0.2.7", 2, T0);
    assert_true(login_limit_allows("192.0.2.7", T0, &minutes));
    assert_true(login_limit_failed("192.0.2.7", T0 + MINUTE_US)); /* the third reaches it */
    assert_false(login_limit_allows("192.0.2.7", T0 + MINUTE_US, &minutes));
    assert_int_equal(minutes, LOGIN_LIMIT_WINDOW_MINUTES - 1); /* the window began at T0 */
    assert_false(login_limit_allows("192.0.2.7", T0 + 14 * MINUTE_US + 1, &minutes));
    assert_int_equal(minutes, 1); /* part of a minute is said as one */
    assert_true(login_limit_allows("192.0.2.7", T0 + 15 * MINUTE_US, &minutes));
}

static void other_addresses_keep_their_own_count(void **state)
{
    (void)state;
    int minutes;
    fail_logins("192.0.2.7", 3, T0);
    assert_true(login_limit_allows("192.0.2.8", T0, &minutes));
    assert_true(login_limit_allows("2001:db8::7", T0, &minutes));
    assert_false(login_limit_allows("192.0.2.7", T0, &minutes));
}

static void failures_of_an_old_window_are_forgotten(void **state)
{
    (void)state;
    int minutes;
    fail_logins("local", 2, T0);
    fail_logins("local", 2, T0 + 16 * MINUTE_US); /* a new window: 2, not 4 */
    assert_true(login_limit_allows("local", T0 + 16 * MINUTE_US, &minutes));
}

static void zero_turns_the_limit_off(void **state)
{
    (void)state;
    int minutes;
    login_limit_configure(0);
    fail_logins("192.0.2.7", 100, T0);
    assert_true(login_limit_allows("192.0.2.7", T0, &minutes));
}

static void a_full_table_forgets_the_stalest_address_first(void **state)
{
    (void)state;
    int minutes;
    fail_logins("192.0.2.7", 3, T0);        /* locked, the stalest */
    fail_logins("198.51.100.1", 3, T0 + 1); /* locked, newer */
    char addr[32];
    for (int i = 0; i < LOGIN_LIMIT_ADDRESSES - 1; i++) {
        snprintf(addr, sizeof addr, "10.0.%d.%d", i / 256, i % 256);
        login_limit_failed(addr, T0 + 2 + i);
    }
    /* 192.0.2.7 made room for the last newcomer; the newer locked address is still known */
    assert_true(login_limit_allows("192.0.2.7", T0 + MINUTE_US, &minutes));
    assert_false(login_limit_allows("198.51.100.1", T0 + MINUTE_US, &minutes));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(address_is_refused_after_the_limit_until_the_window_passes,
                               fresh_limit_of_three),
        cmocka_unit_test_setup(other_addresses_keep_their_own_count, fresh_limit_of_three),
        cmocka_unit_test_setup(failures_of_an_old_window_are_forgotten, fresh_limit_of_three),
        cmocka_unit_test_setup(zero_turns_the_limit_off, fresh_limit_of_three),
        cmocka_unit_test_setup(a_full_table_forgets_the_stalest_address_first,
                               fresh_limit_of_three),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
