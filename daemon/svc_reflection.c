/* svc_reflection.c: /clinic.v1.Reflection/ListMethods: every served method, its request and
 * response types and whether it mutates, read from the dispatch table itself so it cannot drift. */
#include <stdlib.h>

#include "call.h"
#include "clinic/v1/reflection.pb-c.h"
#include "rpc.h"
#include "handlers.h"
#include "status.h"

HANDLER(svc_reflection_list_methods, Reflection, ListMethodsRequest, ListMethodsResponse)
{
    const struct rpc_table *table = call->served;
    Clinic__V1__ListMethodsResponse out = CLINIC__V1__LIST_METHODS_RESPONSE__INIT;
    Clinic__V1__MethodInfo *infos = calloc(table->n ? table->n : 1, sizeof *infos);
    Clinic__V1__MethodInfo **ptrs = calloc(table->n ? table->n : 1, sizeof *ptrs);
    if (!infos || !ptrs) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        goto done;
    }
    for (size_t i = 0; i < table->n; i++) {
        const struct rpc_method *m = &table->methods[i];
        clinic__v1__method_info__init(&infos[i]);
        infos[i].name = (char *)m->name;
        infos[i].request_type = (char *)m->desc->input->name;
        infos[i].response_type = (char *)m->desc->output->name;
        infos[i].mutates = (m->rule->flags & METHOD_MUTATES) != 0;
        infos[i].may_read_standby = (m->rule->flags & METHOD_STANDBY_OK) != 0;
        ptrs[i] = &infos[i];
    }
    out.n_methods = table->n;
    out.methods = ptrs;
    call_reply(&out.base, call);
done:
    free(ptrs);
    free(infos);
}

static Clinic__V1__Reflection_Service reflection = CLINIC__V1__REFLECTION__INIT(svc_reflection_);

const struct handler_set svc_reflection_handlers = {&reflection.base};
