/* svc_services.c: clinic.v1.Services: the treatments the clinic offers, their length, buffers,
 * price and the room features they need.
 *
 * A service's length, buffers, features and whether it is offered are rules a booking reads: a
 * change of a service waits for the bookings of it in flight, and bookings that start meanwhile
 * wait for the change (the trigger on services takes the service's rules lock,
 * sql/functions/60_rules.sql). */
#include <string.h>

#include "call.h"
#include "clinic/v1/admin.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

/* The schema's ranges (sql/0002_scheduling.sql), checked here first so that every bad field is
 * reported by name, and so that a uint32 past INT_MAX never reaches an integer column. */
#define DURATION_MIN    5
#define DURATION_MAX    720
#define BUFFER_MAX      240
#define PRICE_CENTS_MAX 100000000

#define SERVICE_COLUMNS                                                                            \
    "id, name, duration_minutes, buffer_before_minutes, buffer_after_minutes, price_cents,"        \
    " required_features, active, tax_rate_bp"

static const struct db_stmt create_stmt = {
    "INSERT INTO services (name, duration_minutes, buffer_before_minutes, buffer_after_minutes,"
    " price_cents, required_features, tax_rate_bp) VALUES ($1, $2, $3, $4, $5, $6::text[], $7)"
    " RETURNING " SERVICE_COLUMNS,
    7};
static const struct db_stmt get_stmt = {"SELECT " SERVICE_COLUMNS " FROM services WHERE id = $1",
                                        1};
static const struct db_stmt list_stmt = {"SELECT " SERVICE_COLUMNS
                                         ", 'p' || id AS page_key FROM services"
                                         " WHERE id > $1 AND ($2 OR active) ORDER BY id LIMIT $3",
                                         3};
static const struct db_stmt update_stmt = {
    "UPDATE services SET name = coalesce($2, name),"
    " duration_minutes = coalesce($3::int, duration_minutes),"
    " buffer_before_minutes = coalesce($4::int, buffer_before_minutes),"
    " buffer_after_minutes = coalesce($5::int, buffer_after_minutes),"
    " price_cents = coalesce($6::bigint, price_cents),"
    " required_features = coalesce($7::text[], required_features),"
    " tax_rate_bp = coalesce($8::int, tax_rate_bp)"
    " WHERE id = $1 RETURNING " SERVICE_COLUMNS,
    8};
static const struct db_stmt archive_stmt = {
    "UPDATE services SET active = false WHERE id = $1 RETURNING " SERVICE_COLUMNS, 1};

static void check_duration(struct call *call, uint32_t minutes)
{
    if (minutes < DURATION_MIN || minutes > DURATION_MAX)
        call_violation(call, "duration_minutes", "must be from %d to %d minutes", DURATION_MIN,
                       DURATION_MAX);
}

static void check_buffer(struct call *call, const char *field, uint32_t minutes)
{
    if (minutes > BUFFER_MAX)
        call_violation(call, field, "must be from 0 to %d minutes", BUFFER_MAX);
}

static void check_price(struct call *call, int64_t cents)
{
    if (cents < 0 || cents > PRICE_CENTS_MAX)
        call_violation(call, "price_cents", "must be from 0 to %d (cents)", PRICE_CENTS_MAX);
}

/* Basis points of tax in the price: 0 (none) to 10000 (100 %). */
static void check_tax_rate(struct call *call, uint32_t bp)
{
    if (bp > 10000)
        call_violation(call, "tax_rate_bp",
                       "must be from 0 to 10000 basis points (0 %% to 100 %%; 1900 is 19 %%)");
}

HANDLER(svc_services_create_service, Services, CreateServiceRequest, Service)
{
    check_text(call, "name", in->name, 1, 200);
    check_duration(call, in->duration_minutes);
    check_buffer(call, "buffer_before_minutes", in->buffer_before_minutes);
    check_buffer(call, "buffer_after_minutes", in->buffer_after_minutes);
    check_price(call, in->price_cents);
    check_tax_rate(call, in->tax_rate_bp);
    check_features(call, "required_features", in->required_features, in->n_required_features);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {in->name,
                            param_u32(call, in->duration_minutes),
                            param_u32(call, in->buffer_before_minutes),
                            param_u32(call, in->buffer_after_minutes),
                            param_i64(call, in->price_cents),
                            param_text_array(call, in->required_features, in->n_required_features),
                            param_u32(call, in->tax_rate_bp)};
    for (size_t i = 1; i < sizeof params / sizeof params[0]; i++) {
        if (!params[i]) {
            call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
            return;
        }
    }
    rowmap_reply_inserted(call, &create_stmt, params, &clinic__v1__service__descriptor);
}

HANDLER(svc_services_get_service, Services, GetServiceRequest, Service)
{
    rowmap_reply_by_id(call, &get_stmt, in->id, &clinic__v1__service__descriptor, "service");
}

HANDLER(svc_services_list_services, Services, ListServicesRequest, ListServicesResponse)
{
    uint32_t size;
    int64_t after;
    if (!check_page(call, in->page_size, in->page_token, &size, &after))
        return;
    const char *params[] = {param_i64(call, after), param_bool(in->include_inactive),
                            param_u32(call, size + 1)};
    rowmap_reply_list(call, &list_stmt, params, &clinic__v1__list_services_response__descriptor,
                      "services", size);
}

HANDLER(svc_services_update_service, Services, UpdateServiceRequest, Service)
{
    static const char *const fields[] = {
        "name",        "duration_minutes",  "buffer_before_minutes", "buffer_after_minutes",
        "price_cents", "required_features", "tax_rate_bp",           NULL};
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    check_id(call, "id", in->id);
    if (!check_update_mask(call, mask, n, fields))
        return;
    /* fields outside the mask are ignored, whatever they hold */
    if (check_in_mask(mask, n, "name"))
        check_text(call, "name", in->name, 1, 200);
    if (check_in_mask(mask, n, "duration_minutes"))
        check_duration(call, in->duration_minutes);
    if (check_in_mask(mask, n, "buffer_before_minutes"))
        check_buffer(call, "buffer_before_minutes", in->buffer_before_minutes);
    if (check_in_mask(mask, n, "buffer_after_minutes"))
        check_buffer(call, "buffer_after_minutes", in->buffer_after_minutes);
    if (check_in_mask(mask, n, "price_cents"))
        check_price(call, in->price_cents);
    if (check_in_mask(mask, n, "required_features"))
        check_features(call, "required_features", in->required_features, in->n_required_features);
    if (check_in_mask(mask, n, "tax_rate_bp"))
        check_tax_rate(call, in->tax_rate_bp);
    if (call->code != STATUS_OK)
        return;
        /* NULL leaves a column as it is (coalesce in the statement). */
#define IF_MASKED(field, value) (check_in_mask(mask, n, field) ? (value) : NULL)
    const char *params[] = {
        param_i64(call, in->id),
        IF_MASKED("name", in->name),
        IF_MASKED("duration_minutes", param_u32(call, in->duration_minutes)),
        IF_MASKED("buffer_before_minutes", param_u32(call, in->buffer_before_minutes)),
        IF_MASKED("buffer_after_minutes", param_u32(call, in->buffer_after_minutes)),
        IF_MASKED("price_cents", param_i64(call, in->price_cents)),
        IF_MASKED("required_features",
                  param_text_array(call, in->required_features, in->n_required_features)),
        IF_MASKED("tax_rate_bp", param_u32(call, in->tax_rate_bp)),
    };
    /* out of memory would turn a masked field into NULL, that is "unchanged": refuse instead
     * (params[i] holds fields[i - 1]) */
    bool complete = params[0] != NULL;
    for (size_t i = 1; i < sizeof params / sizeof params[0]; i++)
        complete = complete && (params[i] || !check_in_mask(mask, n, fields[i - 1]));
#undef IF_MASKED
    if (!complete) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    rowmap_reply_one(call, &update_stmt, params, &clinic__v1__service__descriptor,
                     "service %lld does not exist", (long long)in->id);
}

HANDLER(svc_services_archive_service, Services, ArchiveServiceRequest, Service)
{
    rowmap_reply_by_id(call, &archive_stmt, in->id, &clinic__v1__service__descriptor, "service");
}

static Clinic__V1__Services_Service services = CLINIC__V1__SERVICES__INIT(svc_services_);

const struct handler_set svc_services_handlers = {&services.base};
