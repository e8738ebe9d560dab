/* services.c: the one list of services clinicd serves. Adding a service is a .proto file, a
 * svc_<name>.c with its handlers and service_def, and one line here. */
#include "service.h"

extern const struct service_def svc_health_def;
extern const struct service_def svc_reflection_def;
extern const struct service_def svc_diagnostics_def;
extern const struct service_def svc_locations_def;
extern const struct service_def svc_rooms_def;
extern const struct service_def svc_services_def;
extern const struct service_def svc_clients_def;
extern const struct service_def svc_therapists_def;
extern const struct service_def svc_scheduling_def;
extern const struct service_def svc_events_def;
extern const struct service_def svc_demo_def;
extern const struct service_def svc_notes_def;
extern const struct service_def svc_progress_def;
extern const struct service_def svc_auth_def;
extern const struct service_def svc_users_def;
extern const struct service_def svc_audit_def;

const struct service_entry service_table[] = {
    {&svc_health_def, false},
    {&svc_reflection_def, false},
    {&svc_diagnostics_def, true},
    {&svc_locations_def, false},
    {&svc_rooms_def, false},
    {&svc_services_def, false},
    {&svc_clients_def, false},
    {&svc_therapists_def, false},
    {&svc_scheduling_def, false},
    {&svc_events_def, false},
    {&svc_demo_def, false},
    {&svc_notes_def, false},
    {&svc_progress_def, false},
    {&svc_auth_def, false},
    {&svc_users_def, false},
    {&svc_audit_def, false},
    {NULL, false},
};
