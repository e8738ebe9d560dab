/* svc_demo.c: clinic.v1.Demo/Load: the demo clinic (sql/functions/95_demo.sql), so a new user can
 * search and book at once. */
#include "call.h"
#include "clinic/v1/demo.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "param.h"
#include "status.h"

/* Refuses a clinic that is not empty unless $1 (force) with CLRUL, which call_fail_db answers as
 * FAILED_PRECONDITION with the function's sentence (what the clinic holds, how to go on). */
static const struct db_stmt load_stmt = {"SELECT * FROM clinic_load_demo($1::boolean)", 1};

HANDLER(svc_demo_load, Demo, LoadDemoRequest, LoadDemoResponse)
{
    struct db_result *r;
    if (db_query(call->db, &load_stmt, (const char *[]){param_bool(in->force)}, &r) != STATUS_OK) {
        if (db_error_is(call->db, "23505"))
            call_fail(call, STATUS_ALREADY_EXISTS,
                      "the demo clinic is already loaded; `clinic admin location list` shows it");
        else
            call_fail_db(call);
        return;
    }
    rowmap_reply_row(call, r, 0, &clinic__v1__load_demo_response__descriptor);
    db_result_free(r);
}

static Clinic__V1__Demo_Service demo = CLINIC__V1__DEMO__INIT(svc_demo_);

const struct handler_set svc_demo_handlers = {&demo.base};
