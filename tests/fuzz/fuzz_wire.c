/* fuzz_wire.c: libFuzzer target. daemon/wire.c, the schema-guided walk that guards protobuf-c's
 * unpack, over every message type of clinic.v1, and its UTF-8 helpers.
 *
 * Input: byte 0 picks the message type (fuzz_message_types), the rest is the message.
 * Checks: wire_utf8_valid agrees with an independent validator (Unicode's table 3-7) on the raw
 * bytes; wire_utf8_prefix cuts at a character boundary within its limit; wire_check's refusal
 * says why, in valid UTF-8; what it lets through either fails protobuf-c's unpack or decodes
 * with valid text everywhere (unpack is only tried on what the check let through, as rpc.c
 * does: protobuf-c has no nesting limit of its own). */
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
    size_t n;
    fuzz_message_types(&n);
    return 0;
}

static void check_utf8_helpers(const uint8_t *data, size_t size)
{
    bool valid = fuzz_utf8_valid(data, size);
    if (wire_utf8_valid(data, size) != valid)
        fuzz_fail("wire_utf8_valid says %s, table 3-7 says %s", valid ? "no" : "yes",
                  valid ? "yes" : "no");
    if (!valid || size == 0)
        return;
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    size_t max = data[0] % (size + 2);
    size_t cut = wire_utf8_prefix(s, max);
    if (cut > max || cut > size || !fuzz_utf8_valid(data, cut))
        fuzz_fail("wire_utf8_prefix(%zu) cut %zu bytes of %zu, not at a character boundary", max,
                  cut, size);
    if (size <= max && cut != size)
        fuzz_fail("wire_utf8_prefix(%zu) cut a %zu-byte string that fits", max, size);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    const ProtobufCMessageDescriptor *const *types = fuzz_message_types(&n);
    check_utf8_helpers(data, size);
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *d = types[data[0] % n];
    char why[200] = "";
    if (!wire_check(d, data + 1, size - 1, why, sizeof why)) {
        if (!why[0] || !fuzz_utf8_valid((const uint8_t *)why, strlen(why)))
            fuzz_fail("wire_check refused a %s without a readable reason", d->name);
        return 0;
    }
    ProtobufCMessage *m = message_unpack(d, size - 1, data + 1);
    const char *bad = "";
    if (m && !fuzz_message_text_valid(m, &bad))
        fuzz_fail("wire_check let through a %s whose %s is not valid UTF-8", d->name, bad);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
