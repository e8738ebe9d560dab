/* param.c: request values as query parameters (param.h). */
#include "param.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char *param_i64(struct call *call, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return call_strdup(call, buf);
}

const char *param_u32(struct call *call, uint32_t v)
{
    char buf[12];
    snprintf(buf, sizeof buf, "%u", v);
    return call_strdup(call, buf);
}

const char *param_bool(bool v)
{
    return v ? "true" : "false";
}

const char *param_id_or_null(struct call *call, int64_t v)
{
    return v ? param_i64(call, v) : NULL;
}

const char *param_text_or_null(const char *s)
{
    return s && *s ? s : NULL;
}

/* {"a","b"} with quotes and backslashes escaped. */
const char *param_text_array(struct call *call, char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += 2 * strlen(items[i]) + 3;
    char *out = call_alloc(call, len);
    if (!out)
        return NULL;
    char *p = out;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *s = items[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

const char *param_id_array(struct call *call, const int64_t *ids, size_t n)
{
    char *out = call_alloc(call, n * 21 + 3);
    if (!out)
        return NULL;
    size_t used = 0;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, 22, "%s%lld", i ? "," : "", (long long)ids[i]);
    out[used++] = '}';
    out[used] = '\0';
    return out;
}

bool param_enum_label(const ProtobufCEnumDescriptor *d, int value, char *out, size_t len)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    const ProtobufCEnumValue *unspecified = protobuf_c_enum_descriptor_get_value(d, 0);
    static const char tail[] = "UNSPECIFIED";
    if (!v || !unspecified || strlen(unspecified->name) < sizeof tail - 1)
        return false;
    size_t prefix = strlen(unspecified->name) - (sizeof tail - 1);
    size_t n = strlen(v->name) - prefix;
    if (n + 1 > len)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)v->name[prefix + i]);
    out[n] = '\0';
    return true;
}

const char *param_enum_array(struct call *call, const ProtobufCEnumDescriptor *d, const int *values,
                             size_t n)
{
    size_t cap = 3 + n * 64;
    char *out = call_alloc(call, cap), label[64];
    if (!out)
        return NULL;
    size_t used = 0;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (!param_enum_label(d, values[i], label, sizeof label))
            return NULL;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", label);
    }
    out[used++] = '}';
    out[used] = '\0';
    return out;
}
