/* svc_diagnostics.c: /clinic.v1.Diagnostics/Sleep holds a transaction open in the database for a
 * given time. Served only with --enable-diagnostics: tests use it for deadlines and graceful
 * shutdown, benchmarks for pool behaviour. */
#include <stdio.h>

#include "call.h"
#include "clinic/v1/diagnostics.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "status.h"

#define MAX_SLEEP_MS 60000

static const struct db_stmt sleep_stmt = {"SELECT pg_sleep($1::double precision / 1000)", 1};

HANDLER(svc_diagnostics_sleep, Diagnostics, SleepRequest, SleepResponse)
{
    if (in->duration_ms > MAX_SLEEP_MS) {
        call_violation(call, "duration_ms", "must be at most %d", MAX_SLEEP_MS);
        return;
    }
    char ms[16];
    snprintf(ms, sizeof ms, "%u", in->duration_ms);
    const char *params[] = {ms};
    if (db_query(call->db, &sleep_stmt, params, NULL) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    Clinic__V1__SleepResponse out = CLINIC__V1__SLEEP_RESPONSE__INIT;
    out.worker = (uint32_t)call->worker;
    call_reply(&out.base, call);
}

static Clinic__V1__Diagnostics_Service diagnostics =
    CLINIC__V1__DIAGNOSTICS__INIT(svc_diagnostics_);

const struct handler_set svc_diagnostics_handlers = {&diagnostics.base};
