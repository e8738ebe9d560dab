/* handlers.c: the one list of the handler sets clinicd serves. Adding a service is a .proto file,
 * a svc_<name>.c with its handlers, one line here and its methods' rows in common/methods.c. */
#include "handlers.h"

extern const struct handler_set svc_health_handlers;
extern const struct handler_set svc_reflection_handlers;
extern const struct handler_set svc_server_handlers;
extern const struct handler_set svc_diagnostics_handlers;
extern const struct handler_set svc_locations_handlers;
extern const struct handler_set svc_rooms_handlers;
extern const struct handler_set svc_services_handlers;
extern const struct handler_set svc_clients_handlers;
extern const struct handler_set svc_therapists_handlers;
extern const struct handler_set svc_scheduling_handlers;
extern const struct handler_set svc_events_handlers;
extern const struct handler_set svc_demo_handlers;
extern const struct handler_set svc_notes_handlers;
extern const struct handler_set svc_progress_handlers;
extern const struct handler_set svc_measures_handlers;
extern const struct handler_set svc_auth_handlers;
extern const struct handler_set svc_users_handlers;
extern const struct handler_set svc_audit_handlers;
extern const struct handler_set svc_calendar_handlers;
extern const struct handler_set svc_intakes_handlers;
extern const struct handler_set svc_consents_handlers;
extern const struct handler_set svc_waitlist_handlers;
extern const struct handler_set svc_reports_handlers;
extern const struct handler_set svc_client_data_handlers;
extern const struct handler_set svc_packages_handlers;
extern const struct handler_set svc_billing_handlers;

const struct handler_entry handler_table[] = {
    {&svc_health_handlers, false},
    {&svc_reflection_handlers, false},
    {&svc_server_handlers, false},
    {&svc_diagnostics_handlers, true},
    {&svc_locations_handlers, false},
    {&svc_rooms_handlers, false},
    {&svc_services_handlers, false},
    {&svc_clients_handlers, false},
    {&svc_therapists_handlers, false},
    {&svc_scheduling_handlers, false},
    {&svc_events_handlers, false},
    {&svc_demo_handlers, false},
    {&svc_notes_handlers, false},
    {&svc_progress_handlers, false},
    {&svc_measures_handlers, false},
    {&svc_auth_handlers, false},
    {&svc_users_handlers, false},
    {&svc_audit_handlers, false},
    {&svc_calendar_handlers, false},
    {&svc_intakes_handlers, false},
    {&svc_consents_handlers, false},
    {&svc_waitlist_handlers, false},
    /* the clinic's numbers, for the desk and the owner */
    {&svc_reports_handlers, false},
    /* a client's data, exported */
    {&svc_client_data_handlers, false},
    /* money: packages, charges and receipts */
    {&svc_packages_handlers, false},
    {&svc_billing_handlers, false},
    {NULL, false},
};
