/* fuzz_json.c: libFuzzer target. libclinic's JSON reader (clients/lib/json.c), which a browser's
 * request body reaches, and its printer. Every request type of every method is a target.
 *
 * Input: byte 0 picks the method (every method of every service in handlers.c, in table order),
 * the rest is JSON text read as its request type.
 * Checks: a refusal has a sentence; a message read has valid UTF-8 text, and prints (with either
 * kind of names) as JSON that reads back as the same message, byte for byte when packed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "fuzz_check.h"
#include "handlers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_METHOD 256

static const ProtobufCMessageDescriptor *inputs[MAX_METHOD];
static size_t n_inputs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (const struct handler_entry *e = handler_table; e->set; e++) {
        const ProtobufCServiceDescriptor *sd = e->set->service->descriptor;
        for (unsigned i = 0; i < sd->n_methods && n_inputs < MAX_METHOD; i++)
            inputs[n_inputs++] = sd->methods[i].input;
    }
    return 0;
}

/* m packed into a malloc'd buffer (*len bytes). */
static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf)
        abort();
    protobuf_c_message_pack(m, buf);
    return buf;
}

/* Prints m with `names`, reads it back and compares the two, packed. */
static void check_round_trip(const ProtobufCMessage *m, enum clinic_json_names names)
{
    char *json = clinic_message_to_json_named(m, names);
    if (!json)
        fuzz_fail("a %s read from JSON did not print", m->descriptor->name);
    char why[256] = "";
    ProtobufCMessage *again =
        clinic_message_from_json(m->descriptor, json, strlen(json), why, sizeof why);
    if (!again)
        fuzz_fail("the printed %s did not read back (%s): %s", m->descriptor->name, why, json);
    size_t a_len, b_len;
    uint8_t *a = packed(m, &a_len), *b = packed(again, &b_len);
    if (a_len != b_len || memcmp(a, b, a_len) != 0)
        fuzz_fail("a %s changed on its way through JSON: %s", m->descriptor->name, json);
    free(a);
    free(b);
    protobuf_c_message_free_unpacked(again, NULL);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || n_inputs == 0)
        return 0;
    const ProtobufCMessageDescriptor *d = inputs[data[0] % n_inputs];
    char why[256] = "";
    ProtobufCMessage *m =
        clinic_message_from_json(d, (const char *)data + 1, size - 1, why, sizeof why);
    if (!m) {
        if (!why[0])
            fuzz_fail("a %s was refused without a sentence", d->name);
        return 0;
    }
    const char *bad;
    if (!fuzz_message_text_valid(m, &bad))
        fuzz_fail("%s.%s read from JSON is not valid UTF-8", d->name, bad);
    check_round_trip(m, CLINIC_JSON_CAMEL_NAMES);
    check_round_trip(m, CLINIC_JSON_PROTO_NAMES);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
