/* svc_health.c: /clinic.v1.Health/Check, mirroring grpc.health.v1. SERVING while the database
 * answers, NOT_SERVING while it does not (and SERVING again once it does: the check itself
 * reconnects, so no restart is needed). While the daemon's connections have had the server's
 * answer within the last second, and none has found it gone since, that news is the answer: a
 * busy daemon's health checks cost the database nothing. Otherwise the check asks (SELECT 1). */
#include "call.h"
#include "clinic/v1/health.pb-c.h"
#include "db.h"
#include "handlers.h"

#define HEALTH_NEWS_FRESH_US 1000000

HANDLER(svc_health_check, Health, HealthCheckRequest, HealthCheckResponse)
{
    /* one status for the whole daemon: every service shares the database */
    Clinic__V1__HealthCheckResponse out = CLINIC__V1__HEALTH_CHECK_RESPONSE__INIT;
    bool serving = db_server_answered_within(HEALTH_NEWS_FRESH_US) || db_ping(call->db);
    out.status = serving ? CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                         : CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    call_reply(&out.base, call);
}

static Clinic__V1__Health_Service health = CLINIC__V1__HEALTH__INIT(svc_health_);

const struct handler_set svc_health_handlers = {&health.base};
