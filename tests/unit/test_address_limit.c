/* test_address_limit.c: the gateway's login tries per address and minute
 * (clients/gateway/address_limit.c), on a clock the test sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "address_limit.h"

static void an_address_gets_its_tries_then_waits_out_the_minute(void **state)
{
    (void)state;
    struct address_limit *l = address_limit_new(3, 16);
    assert_non_null(l);
    unsigned retry = 0;
    for (int i = 0; i < 3; i++)
        assert_true(address_limit_allow(l, "192.0.2.7", 1000 + i, &retry));
    assert_false(address_limit_allow(l, "192.0.2.7", 1010, &retry));
    assert_int_equal(retry, 50);                                      /* the minute began at 1000 */
    assert_true(address_limit_allow(l, "2001:db8::1", 1010, &retry)); /* another address */
    assert_false(address_limit_allow(l, "192.0.2.7", 1059, &retry));
    assert_int_equal(retry, 1);
    assert_true(address_limit_allow(l, "192.0.2.7", 1060, &retry)); /* a new minute */
    address_limit_free(l);
}

/* With room for two addresses, a third takes the place of the one whose minute is oldest, and
 * the address still remembered keeps its count. */
static void a_full_table_forgets_the_oldest_minute(void **state)
{
    (void)state;
    struct address_limit *l = address_limit_new(1, 2);
    unsigned retry = 0;
    assert_true(address_limit_allow(l, "a", 100, &retry));
    assert_true(address_limit_allow(l, "b", 110, &retry));
    assert_true(address_limit_allow(l, "c", 120, &retry)); /* "a" forgotten */
    assert_false(address_limit_allow(l, "b", 121, &retry));
    assert_false(address_limit_allow(l, "c", 121, &retry));
    assert_true(address_limit_allow(l, "a", 122, &retry)); /* new to it again: "b" forgotten */
    address_limit_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_address_gets_its_tries_then_waits_out_the_minute),
        cmocka_unit_test(a_full_table_forgets_the_oldest_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
