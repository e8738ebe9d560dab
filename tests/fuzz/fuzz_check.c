/* fuzz_check.c: the oracles the fuzz targets share (see fuzz_check.h). */
#include "fuzz_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/rpc.pb-c.h"
#include "message_unpack.h"
#include "status.h"

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz check failed: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

bool fuzz_check_known_bugs(void)
{
    static int known = -1;
    if (known < 0)
        known = getenv("FUZZ_CHECK_KNOWN_BUGS") != NULL;
    return known;
}

size_t fuzz_utf8_sequence(const uint8_t *s, size_t n)
{
    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > n)
        return 0;
    uint8_t lo = 0x80, hi = 0xBF; /* the second byte's range, table 3-7 */
    if (s[0] == 0xE0)
        lo = 0xA0;
    else if (s[0] == 0xED)
        hi = 0x9F;
    else if (s[0] == 0xF0)
        lo = 0x90;
    else if (s[0] == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

bool fuzz_utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0, seq; i < n; i += seq)
        if (s[i] == 0 || !(seq = fuzz_utf8_sequence(s + i, n - i)))
            return false;
    return true;
}

static bool text_valid(const char *s)
{
    return !s || fuzz_utf8_valid((const uint8_t *)s, strlen(s));
}

bool fuzz_message_text_valid(const ProtobufCMessage *m, const char **bad)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        size_t n = 1;
        const void *values = base;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)((const char *)m + f->quantifier_offset);
            values = *(void *const *)base;
        }
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        for (size_t k = 0; k < n; k++) {
            const void *item = *((void *const *)values + k);
            if (f->type == PROTOBUF_C_TYPE_STRING && !text_valid(item)) {
                *bad = f->name;
                return false;
            }
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && item && !fuzz_message_text_valid(item, bad))
                return false;
        }
    }
    return true;
}

int fuzz_check_reply(const uint8_t *reply, size_t len, const ProtobufCMessageDescriptor *output)
{
    const char *bad = "";
    if (!reply)
        fuzz_fail("rpc_serve gave no reply");
    Clinic__V1__RpcResponse *resp = clinic__v1__rpc_response__unpack(NULL, len, reply);
    if (!resp)
        fuzz_fail("the reply is not a clinic.v1.RpcResponse");
    const Clinic__V1__RpcStatus *st = resp->status;
    if (!st)
        fuzz_fail("the reply has no status");
    int code = st->code;
    if (code < STATUS_OK || code > STATUS_UNAUTHENTICATED)
        fuzz_fail("the reply's status code %d is not one of gRPC's", code);
    if (!resp->request_id[0])
        fuzz_fail("the reply has no request id");
    if (!fuzz_message_text_valid(&resp->base, &bad))
        fuzz_fail("the reply's %s is not valid UTF-8 (status %s: \"%s\")", bad,
                  status_code_name(code), text_valid(st->message) ? st->message : "?");
    if (code != STATUS_OK && !st->message[0])
        fuzz_fail("the reply fails with %s but says nothing", status_code_name(code));
    if (st->n_violations && code != STATUS_INVALID_ARGUMENT)
        fuzz_fail("the reply has field violations with %s", status_code_name(code));
    if (code != STATUS_OK && resp->payload.len)
        fuzz_fail("the reply fails with %s but carries a payload", status_code_name(code));
    if (code == STATUS_OK && output) {
        ProtobufCMessage *out = message_unpack(output, resp->payload.len, resp->payload.data);
        if (!out)
            fuzz_fail("the reply's payload is not a %s", output->name);
        if (!fuzz_message_text_valid(out, &bad))
            fuzz_fail("the reply's %s.%s is not valid UTF-8", output->name, bad);
        protobuf_c_message_free_unpacked(out, NULL);
    }
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
    return code;
}
