/* cmd_system.c: `clinic health` and `clinic methods`: is the daemon serving, and what it serves. */
#include <stdio.h>

#include "cli.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/reflection.pb-c.h"
#include "table.h"

int cmd_health(struct cli *cli, int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error(cli, "unexpected argument \"%s\"", argv[1]);
    Clinic__V1__HealthCheckRequest req = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp;
    int code = cli_call(cli, "/clinic.v1.Health/Check", &req.base,
                        &clinic__v1__health_check_response__descriptor, &resp);
    if (code != 0)
        return code;
    const Clinic__V1__HealthCheckResponse *h = (const Clinic__V1__HealthCheckResponse *)resp;
    bool serving = h->status == CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    if (cli->json) {
        cli_print_json(resp);
    } else {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &clinic__v1__health_check_response__serving_status__descriptor, h->status);
        printf("%s\n", v ? v->name : "UNKNOWN");
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return serving ? 0 : EXIT_NEGATIVE;
}

int cmd_methods(struct cli *cli, int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error(cli, "unexpected argument \"%s\"", argv[1]);
    Clinic__V1__ListMethodsRequest req = CLINIC__V1__LIST_METHODS_REQUEST__INIT;
    ProtobufCMessage *resp;
    int code = cli_call(cli, "/clinic.v1.Reflection/ListMethods", &req.base,
                        &clinic__v1__list_methods_response__descriptor, &resp);
    if (code != 0)
        return code;
    const Clinic__V1__ListMethodsResponse *list = (const Clinic__V1__ListMethodsResponse *)resp;
    if (cli->json) {
        cli_print_json(resp);
    } else {
        static const char *const headers[] = {"METHOD", "REQUEST", "RESPONSE", "MUTATES"};
        struct table *t = table_new(4, headers);
        for (size_t i = 0; i < list->n_methods; i++) {
            const Clinic__V1__MethodInfo *m = list->methods[i];
            const char *row[] = {m->name, m->request_type, m->response_type,
                                 m->mutates ? "yes" : "no"};
            table_add_row(t, row);
        }
        table_print_free(t, stdout);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}
