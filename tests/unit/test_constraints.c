/* test_constraints.c: the sentences a refused write gets (daemon/constraints.c), filled from the
 * request that ran into the constraint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clinic/v1/admin.pb-c.h"
#include "clinic/v1/auth.pb-c.h"
#include "constraints.h"
#include "status.h"

static void assert_refusal(const char *sqlstate, const char *constraint,
                           const ProtobufCMessage *request, int code, const char *field,
                           const char *sentence)
{
    struct constraint_refusal r;
    assert_true(constraint_refusal_for(sqlstate, constraint, request, &r));
    assert_int_equal(r.code, code);
    assert_string_equal(r.field, field);
    assert_string_equal(r.sentence, sentence);
}

static void a_taken_name_is_quoted_with_its_location(void **state)
{
    (void)state;
    Clinic__V1__CreateRoomRequest create = CLINIC__V1__CREATE_ROOM_REQUEST__INIT;
    create.name = "Blue";
    create.location_id = 42;
    assert_refusal("23505", "rooms_location_name_key", &create.base, STATUS_ALREADY_EXISTS, "",
                   "a room named \"Blue\" already exists at location 42");
}

static void a_request_without_the_field_gets_the_next_sentence(void **state)
{
    (void)state;
    Clinic__V1__UpdateRoomRequest update = CLINIC__V1__UPDATE_ROOM_REQUEST__INIT;
    update.id = 7;
    update.name = "Blue";
    assert_refusal("23505", "rooms_location_name_key", &update.base, STATUS_ALREADY_EXISTS, "",
                   "a room named \"Blue\" already exists at the room's location");
}

static void long_values_are_cut_at_a_character_boundary(void **state)
{
    (void)state;
    char name[300] = "";
    for (int i = 0; i < 60; i++)
        strcat(name, "\xc3\xa9"); /* é: 120 bytes in all */
    Clinic__V1__CreateServiceRequest create = CLINIC__V1__CREATE_SERVICE_REQUEST__INIT;
    create.name = name;
    struct constraint_refusal r;
    assert_true(constraint_refusal_for("23505", "services_name_key", &create.base, &r));
    const char *open = strchr(r.sentence, '"'), *close = strchr(open + 1, '"');
    assert_int_equal(close - open - 1, 100); /* 50 whole characters */
}

static void a_reference_names_the_missing_record(void **state)
{
    (void)state;
    Clinic__V1__CreateUserRequest create = CLINIC__V1__CREATE_USER_REQUEST__INIT;
    create.client_id = 333;
    assert_refusal("23503", "users_client_fkey", &create.base, STATUS_NOT_FOUND, "",
                   "client 333 does not exist");
}

/* Deleting what a reference points at breaks the same constraint; such requests name the record
 * by "id" (as GetLocation does), so the "does not exist" sentence must not answer them. */
static void a_reference_does_not_word_a_refused_delete(void **state)
{
    (void)state;
    Clinic__V1__GetLocationRequest del = CLINIC__V1__GET_LOCATION_REQUEST__INIT;
    del.id = 5;
    struct constraint_refusal r;
    assert_false(constraint_refusal_for("23503", "rooms_location_id_fkey", &del.base, &r));
}

static void a_column_check_names_the_request_field(void **state)
{
    (void)state;
    Clinic__V1__CreateClientRequest create = CLINIC__V1__CREATE_CLIENT_REQUEST__INIT;
    assert_refusal("23514", "clients_phone_check", &create.base, STATUS_INVALID_ARGUMENT, "phone",
                   "was refused by the database's rules for this field");
    struct constraint_refusal r;
    assert_false(constraint_refusal_for("23514", "clients_no_such_field_check", &create.base, &r));
    assert_false(constraint_refusal_for("23514", "clients_phone_check", NULL, &r));
}

static void unknown_and_unnamed_constraints_fall_back(void **state)
{
    (void)state;
    Clinic__V1__CreateClientRequest create = CLINIC__V1__CREATE_CLIENT_REQUEST__INIT;
    create.email = "a@b.example";
    struct constraint_refusal r;
    assert_false(constraint_refusal_for("23505", "no_such_key", &create.base, &r));
    assert_false(constraint_refusal_for("23505", "", &create.base, &r));
    assert_false(constraint_refusal_for("57014", NULL, &create.base, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_taken_name_is_quoted_with_its_location),
        cmocka_unit_test(a_request_without_the_field_gets_the_next_sentence),
        cmocka_unit_test(long_values_are_cut_at_a_character_boundary),
        cmocka_unit_test(a_reference_names_the_missing_record),
        cmocka_unit_test(a_reference_does_not_word_a_refused_delete),
        cmocka_unit_test(a_column_check_names_the_request_field),
        cmocka_unit_test(unknown_and_unnamed_constraints_fall_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
