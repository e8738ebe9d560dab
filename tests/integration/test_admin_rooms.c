/* clinic.v1.Rooms through libclinic, as the front desk uses it: rooms with their features at a
 * location, names unique per location whatever their case, paging and the location filter,
 * changes limited to the update mask, archiving, every refused field named in the reply, and
 * idempotent creation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/admin.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS 10000

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;
static char db_url[512];

static int setup(void **state)
{
    (void)state;
    struct clinic_error err;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "admin_rooms", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true))
        return -1;
    client = clinic_connect(daemon_.url, CALL_TIMEOUT_MS, &err);
    return client ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(client);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* harness_call on this file's client. */
static int call(const char *method, const void *request, const ProtobufCMessageDescriptor *type,
                void *out, bool mutating, const char *key, struct clinic_error *err)
{
    return harness_call(client, method, request, type, out, mutating, key, err);
}

static int64_t create_location(const char *name)
{
    Clinic__V1__CreateLocationRequest req = CLINIC__V1__CREATE_LOCATION_REQUEST__INIT;
    req.name = (char *)name;
    req.time_zone = "Europe/Berlin";
    Clinic__V1__Location *loc;
    struct clinic_error err;
    assert_int_equal(call("Locations/CreateLocation", &req, &clinic__v1__location__descriptor, &loc,
                          true, NULL, &err),
                     STATUS_OK);
    int64_t id = loc->id;
    harness_free_message(loc);
    return id;
}

static int create_room_call(int64_t location, const char *name, char **features, size_t n,
                            const char *key, Clinic__V1__Room **out, struct clinic_error *err)
{
    Clinic__V1__CreateRoomRequest req = CLINIC__V1__CREATE_ROOM_REQUEST__INIT;
    req.location_id = location;
    req.name = (char *)name;
    req.features = features;
    req.n_features = n;
    return call("Rooms/CreateRoom", &req, &clinic__v1__room__descriptor, out, true, key, err);
}

/* Creates a room that must be accepted and returns its id. */
static int64_t create_room(int64_t location, const char *name)
{
    Clinic__V1__Room *room;
    struct clinic_error err;
    assert_int_equal(create_room_call(location, name, NULL, 0, NULL, &room, &err), STATUS_OK);
    int64_t id = room->id;
    harness_free_message(room);
    return id;
}

static int list_rooms(int64_t location, uint32_t page_size, const char *token, bool archived,
                      Clinic__V1__ListRoomsResponse **out, struct clinic_error *err)
{
    Clinic__V1__ListRoomsRequest req = CLINIC__V1__LIST_ROOMS_REQUEST__INIT;
    req.location_id = location;
    req.page_size = page_size;
    req.page_token = (char *)token;
    req.include_archived = archived;
    return call("Rooms/ListRooms", &req, &clinic__v1__list_rooms_response__descriptor, out, false,
                NULL, err);
}

static int update_room(int64_t id, const char *name, char **features, size_t n_features,
                       char **mask, size_t n_mask, Clinic__V1__Room **out, struct clinic_error *err)
{
    Clinic__V1__UpdateRoomRequest req = CLINIC__V1__UPDATE_ROOM_REQUEST__INIT;
    req.id = id;
    req.name = (char *)name;
    req.features = features;
    req.n_features = n_features;
    req.update_mask = mask;
    req.n_update_mask = n_mask;
    return call("Rooms/UpdateRoom", &req, &clinic__v1__room__descriptor, out, true, NULL, err);
}

static int get_room(int64_t id, Clinic__V1__Room **out, struct clinic_error *err)
{
    Clinic__V1__GetRoomRequest req = CLINIC__V1__GET_ROOM_REQUEST__INIT;
    req.id = id;
    return call("Rooms/GetRoom", &req, &clinic__v1__room__descriptor, out, false, NULL, err);
}

static int archive_room(int64_t id, Clinic__V1__Room **out, struct clinic_error *err)
{
    Clinic__V1__ArchiveRoomRequest req = CLINIC__V1__ARCHIVE_ROOM_REQUEST__INIT;
    req.id = id;
    return call("Rooms/ArchiveRoom", &req, &clinic__v1__room__descriptor, out, true, NULL, err);
}

/* The number of rooms with this name, read from the database itself. */
static long count_rooms_named(const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM rooms WHERE name = '%s'", name);
    char *text = harness_sql(db_url, sql);
    assert_non_null(text);
    long n = strtol(text, NULL, 10);
    free(text);
    return n;
}

static void create_room_returns_the_stored_room_with_its_features(void **state)
{
    (void)state;
    int64_t location = create_location("Features Street");
    char *features[] = {"table", "heated_table", "shower"};
    Clinic__V1__Room *room, *again;
    struct clinic_error err;
    assert_int_equal(create_room_call(location, "Room 1", features, 3, NULL, &room, &err),
                     STATUS_OK);
    assert_true(room->id > 0);
    assert_int_equal(room->location_id, location);
    assert_string_equal(room->name, "Room 1");
    assert_int_equal(room->n_features, 3);
    assert_string_equal(room->features[0], "table");
    assert_string_equal(room->features[1], "heated_table");
    assert_string_equal(room->features[2], "shower");
    assert_false(room->archived);

    assert_int_equal(get_room(room->id, &again, &err), STATUS_OK);
    assert_true(harness_same_bytes(room, again));
    harness_free_message(room);
    harness_free_message(again);
}

static void create_room_without_features_has_none(void **state)
{
    (void)state;
    int64_t location = create_location("Bare Street");
    Clinic__V1__Room *room;
    struct clinic_error err;
    assert_int_equal(create_room_call(location, "Bare", NULL, 0, NULL, &room, &err), STATUS_OK);
    assert_int_equal(room->n_features, 0);
    harness_free_message(room);
}

static void get_room_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(get_room(987654, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "room 987654 does not exist");
    assert_int_equal(get_room(0, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "id"));
}

static void create_room_at_an_unknown_location_is_not_found(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(create_room_call(424242, "Nowhere", NULL, 0, NULL, NULL, &err),
                     STATUS_NOT_FOUND);
    assert_string_equal(err.message, "location 424242 does not exist");
}

static void room_names_are_unique_per_location_whatever_their_case(void **state)
{
    (void)state;
    int64_t north = create_location("North"), south = create_location("South");
    struct clinic_error err;
    char expected[128];
    create_room(north, "Blue Room");
    assert_int_equal(create_room_call(north, "BLUE room", NULL, 0, NULL, NULL, &err),
                     STATUS_ALREADY_EXISTS);
    snprintf(expected, sizeof expected,
             "a room named \"BLUE room\" already exists at location %lld", (long long)north);
    assert_string_equal(err.message, expected);
    /* another location may use the name */
    assert_true(create_room(south, "blue room") > 0);
}

static void create_room_names_every_bad_field(void **state)
{
    (void)state;
    char *features[] = {"Heated Table"};
    struct clinic_error err;
    assert_int_equal(create_room_call(-1, "", features, 1, NULL, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 3);
    assert_true(harness_has_violation(&err, "location_id"));
    assert_true(harness_has_violation(&err, "name"));
    assert_true(harness_has_violation(&err, "features"));
}

static void create_room_refuses_long_names_control_characters_and_odd_features(void **state)
{
    (void)state;
    int64_t location = create_location("Strict Street");
    struct clinic_error err;
    char long_name[202];
    memset(long_name, 'x', 201);
    long_name[201] = '\0';
    assert_int_equal(create_room_call(location, long_name, NULL, 0, NULL, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "name"));
    long_name[200] = '\0'; /* 200 characters are fine */
    assert_true(create_room(location, long_name) > 0);

    assert_int_equal(create_room_call(location, "Tab\there", NULL, 0, NULL, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "name"));

    char *twice[] = {"table", "table"};
    assert_int_equal(create_room_call(location, "Twice", twice, 2, NULL, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "features"));

    char *bad[] = {"9lives"};
    assert_int_equal(create_room_call(location, "Digits", bad, 1, NULL, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "features"));

    char names[33][8], *many[33];
    for (int i = 0; i < 33; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        many[i] = names[i];
    }
    assert_int_equal(create_room_call(location, "Many", many, 33, NULL, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "features"));
    assert_int_equal(count_rooms_named("Many"), 0);
}

static void list_rooms_pages_two_at_a_time_through_five(void **state)
{
    (void)state;
    int64_t location = create_location("Paging Street");
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "Page %d", i);
        ids[i] = create_room(location, name);
    }
    char token[64] = "";
    size_t seen = 0;
    const size_t expected_sizes[] = {2, 2, 1};
    for (int page = 0; page < 3; page++) {
        Clinic__V1__ListRoomsResponse *resp;
        struct clinic_error err;
        assert_int_equal(list_rooms(location, 2, token, false, &resp, &err), STATUS_OK);
        assert_int_equal(resp->n_rooms, expected_sizes[page]);
        for (size_t i = 0; i < resp->n_rooms; i++)
            assert_int_equal(resp->rooms[i]->id, ids[seen++]);
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        harness_free_message(resp);
        if (page < 2)
            assert_true(token[0] != '\0');
    }
    assert_string_equal(token, "");
    assert_int_equal(seen, 5);
}

static void list_rooms_of_every_location_includes_each_location(void **state)
{
    (void)state;
    int64_t east = create_location("East"), west = create_location("West");
    int64_t in_east = create_room(east, "East 1"), in_west = create_room(west, "West 1");
    bool east_seen = false, west_seen = false;
    char token[64] = "";
    for (int page = 0; page < 100; page++) {
        Clinic__V1__ListRoomsResponse *resp;
        struct clinic_error err;
        assert_int_equal(list_rooms(0, 3, token, false, &resp, &err), STATUS_OK);
        for (size_t i = 0; i < resp->n_rooms; i++) {
            east_seen = east_seen || resp->rooms[i]->id == in_east;
            west_seen = west_seen || resp->rooms[i]->id == in_west;
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        harness_free_message(resp);
        if (!token[0])
            break;
    }
    assert_true(east_seen && west_seen);

    Clinic__V1__ListRoomsResponse *resp;
    struct clinic_error err;
    assert_int_equal(list_rooms(west, 0, "", false, &resp, &err), STATUS_OK);
    assert_int_equal(resp->n_rooms, 1);
    assert_int_equal(resp->rooms[0]->id, in_west);
    assert_string_equal(resp->next_page_token, "");
    harness_free_message(resp);
}

static void list_rooms_hides_archived_rooms_unless_asked(void **state)
{
    (void)state;
    int64_t location = create_location("Archive Street");
    int64_t kept = create_room(location, "Kept"), gone = create_room(location, "Gone");
    struct clinic_error err;
    assert_int_equal(archive_room(gone, NULL, &err), STATUS_OK);

    Clinic__V1__ListRoomsResponse *resp;
    assert_int_equal(list_rooms(location, 0, "", false, &resp, &err), STATUS_OK);
    assert_int_equal(resp->n_rooms, 1);
    assert_int_equal(resp->rooms[0]->id, kept);
    harness_free_message(resp);

    assert_int_equal(list_rooms(location, 0, "", true, &resp, &err), STATUS_OK);
    assert_int_equal(resp->n_rooms, 2);
    assert_int_equal(resp->rooms[1]->id, gone);
    assert_true(resp->rooms[1]->archived);
    harness_free_message(resp);
}

static void list_rooms_refuses_bad_paging_and_location(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(list_rooms(0, 501, "", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "page_size"));
    assert_int_equal(list_rooms(0, 0, "not-a-token", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "page_token"));
    assert_int_equal(list_rooms(-3, 0, "", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "location_id"));
}

static void update_room_changes_only_the_fields_in_the_mask(void **state)
{
    (void)state;
    int64_t location = create_location("Update Street");
    char *features[] = {"table"};
    Clinic__V1__Room *room;
    struct clinic_error err;
    assert_int_equal(create_room_call(location, "Before", features, 1, NULL, &room, &err),
                     STATUS_OK);
    int64_t id = room->id;
    harness_free_message(room);

    /* features sent but not in the mask: ignored */
    char *other[] = {"shower"};
    char *name_only[] = {"name"};
    assert_int_equal(update_room(id, "After", other, 1, name_only, 1, &room, &err), STATUS_OK);
    assert_string_equal(room->name, "After");
    assert_int_equal(room->n_features, 1);
    assert_string_equal(room->features[0], "table");
    harness_free_message(room);

    /* features in the mask with none given: cleared; the name stays */
    char *features_only[] = {"features"};
    assert_int_equal(update_room(id, "", NULL, 0, features_only, 1, &room, &err), STATUS_OK);
    assert_string_equal(room->name, "After");
    assert_int_equal(room->n_features, 0);
    assert_int_equal(room->location_id, location);
    harness_free_message(room);

    char *both[] = {"name", "features"};
    char *two[] = {"heated_table", "table"};
    assert_int_equal(update_room(id, "Final", two, 2, both, 2, &room, &err), STATUS_OK);
    assert_string_equal(room->name, "Final");
    assert_int_equal(room->n_features, 2);
    assert_string_equal(room->features[0], "heated_table");
    harness_free_message(room);
}

static void update_room_with_an_empty_or_unknown_mask_is_invalid(void **state)
{
    (void)state;
    int64_t id = create_room(create_location("Mask Street"), "Masked");
    struct clinic_error err;
    assert_int_equal(update_room(id, "X", NULL, 0, NULL, 0, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "update_mask"));
    char *unknown[] = {"location_id"};
    assert_int_equal(update_room(id, "X", NULL, 0, unknown, 1, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "update_mask"));
    assert_non_null(strstr(err.violations[0].description, "location_id"));
}

static void update_room_checks_the_masked_fields(void **state)
{
    (void)state;
    int64_t id = create_room(create_location("Check Street"), "Checked");
    char *mask[] = {"name", "features"};
    char *bad[] = {"UPPER"};
    struct clinic_error err;
    assert_int_equal(update_room(id, "", bad, 1, mask, 2, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 2);
    assert_true(harness_has_violation(&err, "name"));
    assert_true(harness_has_violation(&err, "features"));
}

static void update_room_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    char *mask[] = {"name"};
    struct clinic_error err;
    assert_int_equal(update_room(999999, "Ghost", NULL, 0, mask, 1, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "room 999999 does not exist");
}

static void update_room_to_a_name_taken_at_its_location_already_exists(void **state)
{
    (void)state;
    int64_t location = create_location("Rename Street");
    create_room(location, "Taken");
    int64_t id = create_room(location, "Free");
    char *mask[] = {"name"};
    struct clinic_error err;
    assert_int_equal(update_room(id, "taken", NULL, 0, mask, 1, NULL, &err), STATUS_ALREADY_EXISTS);
    assert_non_null(strstr(err.message, "a room named \"taken\" already exists"));
}

static void archive_room_keeps_it_readable_as_archived(void **state)
{
    (void)state;
    int64_t id = create_room(create_location("Old Street"), "Old");
    Clinic__V1__Room *room;
    struct clinic_error err;
    assert_int_equal(archive_room(id, &room, &err), STATUS_OK);
    assert_true(room->archived);
    harness_free_message(room);
    assert_int_equal(get_room(id, &room, &err), STATUS_OK);
    assert_true(room->archived);
    assert_string_equal(room->name, "Old");
    harness_free_message(room);
    assert_int_equal(archive_room(888888, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "room 888888 does not exist");
}

static void create_room_twice_with_one_idempotency_key_creates_it_once(void **state)
{
    (void)state;
    int64_t location = create_location("Retry Street");
    char *features[] = {"table"};
    Clinic__V1__Room *first, *second;
    struct clinic_error err;
    assert_int_equal(
        create_room_call(location, "Retried", features, 1, "rooms-key-1", &first, &err), STATUS_OK);
    assert_int_equal(
        create_room_call(location, "Retried", features, 1, "rooms-key-1", &second, &err),
        STATUS_OK);
    assert_true(harness_same_bytes(first, second));
    assert_int_equal(count_rooms_named("Retried"), 1);
    harness_free_message(first);
    harness_free_message(second);
}

static void idempotency_key_reused_for_another_room_is_invalid(void **state)
{
    (void)state;
    int64_t location = create_location("Reuse Street");
    struct clinic_error err;
    assert_int_equal(create_room_call(location, "First", NULL, 0, "rooms-key-2", NULL, &err),
                     STATUS_OK);
    assert_int_equal(create_room_call(location, "Second", NULL, 0, "rooms-key-2", NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "idempotency_key"));
    assert_int_equal(count_rooms_named("Second"), 0);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_room_returns_the_stored_room_with_its_features),
        cmocka_unit_test(create_room_without_features_has_none),
        cmocka_unit_test(get_room_of_an_unknown_id_is_not_found),
        cmocka_unit_test(create_room_at_an_unknown_location_is_not_found),
        cmocka_unit_test(room_names_are_unique_per_location_whatever_their_case),
        cmocka_unit_test(create_room_names_every_bad_field),
        cmocka_unit_test(create_room_refuses_long_names_control_characters_and_odd_features),
        cmocka_unit_test(list_rooms_pages_two_at_a_time_through_five),
        cmocka_unit_test(list_rooms_of_every_location_includes_each_location),
        cmocka_unit_test(list_rooms_hides_archived_rooms_unless_asked),
        cmocka_unit_test(list_rooms_refuses_bad_paging_and_location),
        cmocka_unit_test(update_room_changes_only_the_fields_in_the_mask),
        cmocka_unit_test(update_room_with_an_empty_or_unknown_mask_is_invalid),
        cmocka_unit_test(update_room_checks_the_masked_fields),
        cmocka_unit_test(update_room_of_an_unknown_id_is_not_found),
        cmocka_unit_test(update_room_to_a_name_taken_at_its_location_already_exists),
        cmocka_unit_test(archive_room_keeps_it_readable_as_archived),
        cmocka_unit_test(create_room_twice_with_one_idempotency_key_creates_it_once),
        cmocka_unit_test(idempotency_key_reused_for_another_room_is_invalid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
