/* test_status_mapping.c: what clients see of a failure: the SQLSTATE -> status table, the status
 * names, and how a handler's failures and field violations accumulate in its call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "call.h"
#include "db.h"
#include "status.h"

static void assert_sqlstate_maps_to(const char *sqlstate, int code)
{
    int got = db_status_for_sqlstate(sqlstate);
    if (got != code)
        fail_msg("SQLSTATE %s gave %s, not %s", sqlstate, status_code_name(got),
                 status_code_name(code));
}

/* --- SQLSTATE -> status --- */

static void exclusion_violation_is_aborted(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("23P01", STATUS_ABORTED);
}

static void integrity_violations_map_by_kind(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("23505", STATUS_ALREADY_EXISTS);
    assert_sqlstate_maps_to("23503", STATUS_FAILED_PRECONDITION);
    assert_sqlstate_maps_to("23514", STATUS_INVALID_ARGUMENT);
    assert_sqlstate_maps_to("23502", STATUS_INVALID_ARGUMENT);
}

static void data_exceptions_are_invalid_argument(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("22007", STATUS_INVALID_ARGUMENT); /* invalid datetime format */
    assert_sqlstate_maps_to("22P02", STATUS_INVALID_ARGUMENT); /* invalid text representation */
    assert_sqlstate_maps_to("22003", STATUS_INVALID_ARGUMENT); /* numeric value out of range */
}

static void serialization_failure_and_deadlock_are_aborted(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("40001", STATUS_ABORTED);
    assert_sqlstate_maps_to("40P01", STATUS_ABORTED);
}

static void query_canceled_is_deadline_exceeded(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("57014", STATUS_DEADLINE_EXCEEDED);
}

static void lost_or_restarting_server_is_unavailable(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("57P01", STATUS_UNAVAILABLE);
    assert_sqlstate_maps_to("57P03", STATUS_UNAVAILABLE);
    assert_sqlstate_maps_to("08006", STATUS_UNAVAILABLE);
    assert_sqlstate_maps_to("08001", STATUS_UNAVAILABLE);
    assert_sqlstate_maps_to("08003", STATUS_UNAVAILABLE);
    assert_sqlstate_maps_to("53300", STATUS_UNAVAILABLE);
}

static void raised_exception_is_failed_precondition(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("P0001", STATUS_FAILED_PRECONDITION);
}

static void everything_else_is_internal(void **state)
{
    (void)state;
    assert_sqlstate_maps_to("42601", STATUS_INTERNAL); /* syntax error: a bug of ours */
    assert_sqlstate_maps_to("42P01", STATUS_INTERNAL);
    assert_sqlstate_maps_to("XX000", STATUS_INTERNAL);
    assert_sqlstate_maps_to("23000", STATUS_INTERNAL);
    assert_sqlstate_maps_to("40000", STATUS_INTERNAL);
    assert_sqlstate_maps_to("", STATUS_INTERNAL);
    assert_sqlstate_maps_to("2", STATUS_INTERNAL);
}

/* --- status names --- */

static void status_codes_have_grpc_names(void **state)
{
    (void)state;
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    for (int code = 0; code <= STATUS_UNAUTHENTICATED; code++)
        assert_string_equal(status_code_name(code), names[code]);
}

static void out_of_range_codes_are_unknown_code(void **state)
{
    (void)state;
    assert_string_equal(status_code_name(-1), "UNKNOWN_CODE");
    assert_string_equal(status_code_name(17), "UNKNOWN_CODE");
    assert_string_equal(status_code_name(1 << 30), "UNKNOWN_CODE");
}

/* --- call outcome --- */

static void violation_makes_the_call_invalid_argument(void **state)
{
    (void)state;
    struct call call = {0};
    call_violation(&call, "start_time", "must be before %s", "end_time");
    assert_int_equal(call.code, STATUS_INVALID_ARGUMENT);
    assert_int_equal(call.n_violations, 1);
    assert_string_equal(call.violations[0].field, "start_time");
    assert_string_equal(call.violations[0].description, "must be before end_time");
    assert_string_equal(call.message, "invalid start_time: must be before end_time");
}

static void violations_accumulate_and_the_message_names_each_field(void **state)
{
    (void)state;
    struct call call = {0};
    call_violation(&call, "start_time", "must be before end_time");
    call_violation(&call, "room_id", "is not a room of location %d", 3);
    call_violation(&call, "email", "is not an address");
    assert_int_equal(call.code, STATUS_INVALID_ARGUMENT);
    assert_int_equal(call.n_violations, 3);
    assert_string_equal(call.violations[1].description, "is not a room of location 3");
    assert_string_equal(call.message,
                        "invalid start_time, room_id, email; see the field violations");
}

static void violations_beyond_the_limit_are_dropped(void **state)
{
    (void)state;
    struct call call = {0};
    char field[16];
    for (int i = 0; i < CALL_MAX_VIOLATIONS + 5; i++) {
        snprintf(field, sizeof field, "field_%d", i);
        call_violation(&call, field, "is wrong");
    }
    assert_int_equal(call.code, STATUS_INVALID_ARGUMENT);
    assert_int_equal(call.n_violations, CALL_MAX_VIOLATIONS);
    assert_non_null(strstr(call.message, "field_0"));
}

static void long_field_names_are_cut_to_fit(void **state)
{
    (void)state;
    struct call call = {0};
    char field[300];
    memset(field, 'f', sizeof field - 1);
    field[sizeof field - 1] = '\0';
    for (int i = 0; i < 4; i++)
        call_violation(&call, field, "is too long");
    assert_int_equal(call.n_violations, 4);
    assert_true(strlen(call.violations[0].field) < sizeof call.violations[0].field);
    assert_true(strlen(call.message) < sizeof call.message);
}

static void first_failure_wins(void **state)
{
    (void)state;
    struct call call = {0};
    call_fail(&call, STATUS_NOT_FOUND, "no client with id %d", 7);
    call_fail(&call, STATUS_INTERNAL, "later trouble");
    assert_int_equal(call.code, STATUS_NOT_FOUND);
    assert_string_equal(call.message, "no client with id 7");
}

static void violation_after_another_failure_is_ignored(void **state)
{
    (void)state;
    struct call call = {0};
    call_fail(&call, STATUS_PERMISSION_DENIED, "only the front desk may do that");
    call_violation(&call, "notes", "is too long");
    assert_int_equal(call.code, STATUS_PERMISSION_DENIED);
    assert_int_equal(call.n_violations, 0);
    assert_string_equal(call.message, "only the front desk may do that");
}

static void violation_after_whole_call_invalid_argument_keeps_the_sentence(void **state)
{
    (void)state;
    struct call call = {0};
    call_fail(&call, STATUS_INVALID_ARGUMENT, "the page token is not one this daemon issued");
    call_violation(&call, "page_size", "must be positive");
    assert_int_equal(call.n_violations, 0);
    assert_string_equal(call.message, "the page token is not one this daemon issued");
}

static void reset_outcome_clears_failure_and_violations(void **state)
{
    (void)state;
    struct call call = {0};
    call_violation(&call, "email", "is not an address");
    call_reset_outcome(&call);
    assert_int_equal(call.code, STATUS_OK);
    assert_int_equal(call.n_violations, 0);
    assert_string_equal(call.message, "");
    call_fail(&call, STATUS_ABORTED, "retry");
    assert_int_equal(call.code, STATUS_ABORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exclusion_violation_is_aborted),
        cmocka_unit_test(integrity_violations_map_by_kind),
        cmocka_unit_test(data_exceptions_are_invalid_argument),
        cmocka_unit_test(serialization_failure_and_deadlock_are_aborted),
        cmocka_unit_test(query_canceled_is_deadline_exceeded),
        cmocka_unit_test(lost_or_restarting_server_is_unavailable),
        cmocka_unit_test(raised_exception_is_failed_precondition),
        cmocka_unit_test(everything_else_is_internal),
        cmocka_unit_test(status_codes_have_grpc_names),
        cmocka_unit_test(out_of_range_codes_are_unknown_code),
        cmocka_unit_test(violation_makes_the_call_invalid_argument),
        cmocka_unit_test(violations_accumulate_and_the_message_names_each_field),
        cmocka_unit_test(violations_beyond_the_limit_are_dropped),
        cmocka_unit_test(long_field_names_are_cut_to_fit),
        cmocka_unit_test(first_failure_wins),
        cmocka_unit_test(violation_after_another_failure_is_ignored),
        cmocka_unit_test(violation_after_whole_call_invalid_argument_keeps_the_sentence),
        cmocka_unit_test(reset_outcome_clears_failure_and_violations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
