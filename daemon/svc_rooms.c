/* svc_rooms.c: clinic.v1.Rooms: the treatment rooms of each location and their features.
 *
 * Rooms are part of their location's rules: creating, changing or archiving one waits for the
 * bookings in flight at that location, and bookings that start meanwhile wait for it (the trigger
 * on rooms takes the location's rules lock, sql/functions/60_rules.sql). */
#include <string.h>

#include "call.h"
#include "clinic/v1/admin.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

#define ROOM_COLUMNS "id, location_id, name, features, archived"

static const struct db_stmt create_stmt = {
    "INSERT INTO rooms (location_id, name, features) VALUES ($1, $2, $3::text[])"
    " RETURNING " ROOM_COLUMNS,
    3};
static const struct db_stmt get_stmt = {"SELECT " ROOM_COLUMNS " FROM rooms WHERE id = $1", 1};
/* $3 = 0: every location. The page key is the id, so paging stays stable while rooms are added. */
static const struct db_stmt list_stmt = {
    "SELECT " ROOM_COLUMNS ", 'p' || id AS page_key FROM rooms"
    " WHERE id > $1 AND ($2 OR NOT archived) AND ($3::bigint = 0 OR location_id = $3::bigint)"
    " ORDER BY id LIMIT $4",
    4};
static const struct db_stmt update_stmt = {
    "UPDATE rooms SET name = coalesce($2, name), features = coalesce($3::text[], features)"
    " WHERE id = $1 RETURNING " ROOM_COLUMNS,
    3};
static const struct db_stmt archive_stmt = {
    "UPDATE rooms SET archived = true WHERE id = $1 RETURNING " ROOM_COLUMNS, 1};

HANDLER(svc_rooms_create_room, Rooms, CreateRoomRequest, Room)
{
    check_id(call, "location_id", in->location_id);
    check_text(call, "name", in->name, 1, 200);
    check_features(call, "features", in->features, in->n_features);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->location_id), in->name,
                            param_text_array(call, in->features, in->n_features)};
    if (!params[0] || !params[2]) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    rowmap_reply_inserted(call, &create_stmt, params, &clinic__v1__room__descriptor);
}

HANDLER(svc_rooms_get_room, Rooms, GetRoomRequest, Room)
{
    rowmap_reply_by_id(call, &get_stmt, in->id, &clinic__v1__room__descriptor, "room");
}

HANDLER(svc_rooms_list_rooms, Rooms, ListRoomsRequest, ListRoomsResponse)
{
    uint32_t size;
    int64_t after;
    check_optional_id(call, "location_id", in->location_id);
    if (!check_page(call, in->page_size, in->page_token, &size, &after) || call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, after), param_bool(in->include_archived),
                            param_i64(call, in->location_id), param_u32(call, size + 1)};
    rowmap_reply_list(call, &list_stmt, params, &clinic__v1__list_rooms_response__descriptor,
                      "rooms", size);
}

HANDLER(svc_rooms_update_room, Rooms, UpdateRoomRequest, Room)
{
    static const char *const fields[] = {"name", "features", NULL};
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    check_id(call, "id", in->id);
    if (!check_update_mask(call, mask, n, fields))
        return;
    if (check_in_mask(mask, n, "name"))
        check_text(call, "name", in->name, 1, 200);
    if (check_in_mask(mask, n, "features"))
        check_features(call, "features", in->features, in->n_features);
    if (call->code != STATUS_OK)
        return;
    /* NULL leaves a column as it is (coalesce in the statement); an empty features list is "{}",
     * not NULL, so naming features in the mask with none given clears them. */
    const char *params[] = {
        param_i64(call, in->id),
        check_in_mask(mask, n, "name") ? in->name : NULL,
        check_in_mask(mask, n, "features") ? param_text_array(call, in->features, in->n_features)
                                           : NULL,
    };
    if (!params[0] || (check_in_mask(mask, n, "features") && !params[2])) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    rowmap_reply_one(call, &update_stmt, params, &clinic__v1__room__descriptor,
                     "room %lld does not exist", (long long)in->id);
}

HANDLER(svc_rooms_archive_room, Rooms, ArchiveRoomRequest, Room)
{
    rowmap_reply_by_id(call, &archive_stmt, in->id, &clinic__v1__room__descriptor, "room");
}

static Clinic__V1__Rooms_Service rooms = CLINIC__V1__ROOMS__INIT(svc_rooms_);

const struct handler_set svc_rooms_handlers = {&rooms.base};
