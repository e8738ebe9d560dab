/* services.c: the services of clinic.v1 (services.h). */
#include "services.h"

#include <string.h>

#include "clinic/v1/admin.pb-c.h"
#include "clinic/v1/audit.pb-c.h"
#include "clinic/v1/auth.pb-c.h"
#include "clinic/v1/billing.pb-c.h"
#include "clinic/v1/calendar.pb-c.h"
#include "clinic/v1/demo.pb-c.h"
#include "clinic/v1/diagnostics.pb-c.h"
#include "clinic/v1/events.pb-c.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/intake.pb-c.h"
#include "clinic/v1/measures.pb-c.h"
#include "clinic/v1/notes.pb-c.h"
#include "clinic/v1/reflection.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "clinic/v1/server.pb-c.h"
#include "clinic/v1/client_data.pb-c.h"
#include "clinic/v1/reports.pb-c.h"
#include "clinic/v1/waitlist.pb-c.h"

const ProtobufCServiceDescriptor *const clinic_services[] = {
    &clinic__v1__health__descriptor,
    &clinic__v1__reflection__descriptor,
    &clinic__v1__server__descriptor,
    &clinic__v1__diagnostics__descriptor,
    &clinic__v1__locations__descriptor,
    &clinic__v1__rooms__descriptor,
    &clinic__v1__services__descriptor,
    &clinic__v1__clients__descriptor,
    &clinic__v1__therapists__descriptor,
    &clinic__v1__scheduling__descriptor,
    &clinic__v1__events__descriptor,
    &clinic__v1__demo__descriptor,
    &clinic__v1__notes__descriptor,
    &clinic__v1__progress__descriptor,
    &clinic__v1__measures__descriptor,
    &clinic__v1__auth__descriptor,
    &clinic__v1__users__descriptor,
    &clinic__v1__audit__descriptor,
    &clinic__v1__calendar__descriptor,
    &clinic__v1__intakes__descriptor,
    &clinic__v1__consents__descriptor,
    &clinic__v1__waitlist__descriptor,
    /* the clinic's numbers, for the desk and the owner */
    &clinic__v1__reports__descriptor,
    /* a client's data, exported */
    &clinic__v1__client_data__descriptor,
    /* money: packages, charges and receipts */
    &clinic__v1__packages__descriptor,
    &clinic__v1__billing__descriptor,
    NULL,
};

const ProtobufCMethodDescriptor *clinic_method_by_path(const char *path)
{
    if (!path || path[0] != '/')
        return NULL;
    const char *slash = strchr(path + 1, '/');
    if (!slash || strchr(slash + 1, '/'))
        return NULL;
    size_t service_len = (size_t)(slash - (path + 1));
    for (const ProtobufCServiceDescriptor *const *s = clinic_services; *s; s++) {
        if (strlen((*s)->name) == service_len && memcmp((*s)->name, path + 1, service_len) == 0)
            return protobuf_c_service_descriptor_get_method_by_name(*s, slash + 1);
    }
    return NULL;
}
