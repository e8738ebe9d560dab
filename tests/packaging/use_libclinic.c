/* use_libclinic.c: a program of someone else's, built against an installed libclinic with
 * nothing but `pkg-config --cflags --libs --static clinic` (install_check.sh compiles it).
 * With a URL it calls Health/Check there and prints the status; it also prints the request as
 * JSON (libclinic's mapping: jansson) and a status name (clinic_wire), so that every library
 * clinic.pc names is really linked. Exit 0 when the call ends with the status expected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "clinic/v1/health.pb-c.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: use_libclinic URL EXPECTED_STATUS_NAME\n");
        return 2;
    }
    Clinic__V1__HealthCheckRequest request = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = "clinic.v1";
    char *json = clinic_message_to_json(&request.base);
    if (!json)
        return 1;
    printf("request %s\n", json);
    free(json);
    struct clinic_error err = {0};
    int code;
    clinic_client *client = clinic_connect(argv[1], 2000, &err);
    if (client) {
        struct clinic_call_options opts = {.timeout_ms = 2000};
        code = clinic_call(client, "/clinic.v1.Health/Check", &request.base,
                           &clinic__v1__health_check_response__descriptor, NULL, &opts, &err);
        clinic_close(client);
    } else {
        code = err.code;
    }
    printf("Health/Check on %s: %s\n", argv[1], status_code_name(code));
    return strcmp(status_code_name(code), argv[2]) == 0 ? 0 : 1;
}
