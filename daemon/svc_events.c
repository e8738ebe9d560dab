/* svc_events.c: clinic.v1.Events/Since: the numbered events after a sequence number, for a
 * watcher that was away (PUB/SUB drops what a disconnected watcher misses). */
#include <stdlib.h>

#include "call.h"
#include "clinic/v1/events.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "param.h"

#define SINCE_DEFAULT 100
#define SINCE_MAX     1000

static const struct db_stmt since_stmt = {"SELECT * FROM clinic_events_after($1, $2)", 2};
static const struct db_stmt last_stmt = {"SELECT coalesce(max(seq), 0) FROM events", 0};

HANDLER(svc_events_since, Events, SinceRequest, SinceResponse)
{
    uint32_t limit = in->limit ? in->limit : SINCE_DEFAULT;
    if (limit > SINCE_MAX) {
        call_violation(call, "limit", "must be at most %d", SINCE_MAX);
        return;
    }
    struct db_result *events = NULL, *last = NULL;
    const char *params[] = {param_i64(call, (int64_t)in->after_seq), param_u32(call, limit)};
    if (in->after_seq > (uint64_t)INT64_MAX) {
        call_violation(call, "after_seq", "is beyond any sequence number");
        return;
    }
    /* Events first, the highest number after: each statement reads its own snapshot, and the
     * relay may number more in between, so only this order keeps last_seq at or above every
     * seq in the answer (the other way round, a watcher was told 5 beside an event numbered 6). */
    if (db_query(call->db, &since_stmt, params, &events) != STATUS_OK ||
        db_query(call->db, &last_stmt, NULL, &last) != STATUS_OK) {
        call_fail_db(call);
    } else {
        Clinic__V1__SinceResponse *out =
            (Clinic__V1__SinceResponse *)rowmap_new(call, &clinic__v1__since_response__descriptor);
        if (out && rowmap_fill_list(call, &out->base, "events", events, db_rows(events))) {
            out->last_seq = strtoull(db_value(last, 0, 0), NULL, 10);
            call_reply(&out->base, call);
        }
    }
    if (events)
        db_result_free(events);
    if (last)
        db_result_free(last);
}

static Clinic__V1__Events_Service events = CLINIC__V1__EVENTS__INIT(svc_events_);

const struct handler_set svc_events_handlers = {&events.base};
