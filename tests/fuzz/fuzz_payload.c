/* fuzz_payload.c: libFuzzer target. A payload decoded as one method's request, the way rpc.c
 * decodes it: wire_check first, then message_unpack (common/message_unpack.c), for every method
 * clinicd serves, field-less requests included.
 *
 * Input: byte 0 picks the method (index in the sorted table), the rest is the payload.
 * Checks: wire_check's refusal says why; what it lets through has only valid UTF-8 text once
 * decoded (its promise, checked by an independent validator); a decoded request packs to bytes
 * that decode again and pack to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_daemon.h"
#include "message_unpack.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_daemon_server();
    return 0;
}

/* Packs m into a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(*len ? *len : 1);
    if (!out)
        abort();
    if (protobuf_c_message_pack(m, out) != *len)
        fuzz_fail("%s packed to another size than it announced", m->descriptor->name);
    return out;
}

/* Decodes like rpc.c's decode_payload; NULL when it would refuse the bytes. */
static ProtobufCMessage *decode(const ProtobufCMessageDescriptor *in, const uint8_t *data,
                                size_t len)
{
    char why[200] = "";
    if (!wire_check(in, data, len, why, sizeof why)) {
        if (!why[0])
            fuzz_fail("wire_check refused a %s without saying why", in->name);
        return NULL;
    }
    return message_unpack(in, len, data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct rpc_table *table = &fuzz_daemon_server()->table;
    const char *bad = "";
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *in = table->methods[data[0] % table->n].desc->input;
    ProtobufCMessage *request = decode(in, data + 1, size - 1);
    if (!request)
        return 0;
    if (!fuzz_message_text_valid(request, &bad))
        fuzz_fail("wire_check let through a %s whose %s is not valid UTF-8", in->name, bad);
    size_t len1, len2;
    uint8_t *packed1 = pack(request, &len1);
    ProtobufCMessage *again = decode(in, packed1, len1);
    if (!again)
        fuzz_fail("a decoded %s packs to bytes that do not decode", in->name);
    uint8_t *packed2 = pack(again, &len2);
    if (len1 != len2 || memcmp(packed1, packed2, len1) != 0)
        fuzz_fail("a %s packs differently after a round trip", in->name);
    free(packed2);
    free(packed1);
    protobuf_c_message_free_unpacked(again, NULL);
    protobuf_c_message_free_unpacked(request, NULL);
    return 0;
}
