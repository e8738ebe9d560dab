/* svc_server.c: /clinic.v1.Server/Info: the daemon's version and the URL it publishes events on,
 * so that a watcher finds the event socket from the one URL it was given (the RPC one) instead of
 * guessing the default port on its own machine. */
#include "call.h"
#include "clinic/v1/server.pb-c.h"
#include "handlers.h"

HANDLER(svc_server_info, Server, ServerInfoRequest, ServerInfoResponse)
{
    Clinic__V1__ServerInfoResponse out = CLINIC__V1__SERVER_INFO_RESPONSE__INIT;
    out.version = (char *)CLINIC_VERSION;
    out.events_url = (char *)(call->events_url ? call->events_url : "");
    call_reply(&out.base, call);
}

static Clinic__V1__Server_Service server = CLINIC__V1__SERVER__INIT(svc_server_);

const struct handler_set svc_server_handlers = {&server.base};
