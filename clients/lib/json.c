/* json.c: any protobuf-c message to JSON and back, driven by its descriptor, so every message
 * type gets `--json` output (and, for an HTTP client, JSON input) with no per-type code. The
 * JSON itself is jansson's: this file maps fields to values and back, as protobuf's canonical
 * JSON mapping says: 64-bit integers as strings, enums by name, bytes as base64, NaN and the
 * infinities as strings, an unset proto3 `optional` or an unchosen oneof member left out. Names
 * are the .proto ones ("start_time", what `--json` always printed) or lowerCamelCase
 * ("startTime", what Connect clients send); the reader takes either. The printer writes every
 * other field, defaults included, so a script finds each key whatever its value. */
#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"

/* Deeper JSON than this is refused: no message of ours nests more than a few levels. */
#define MAX_DEPTH 32

/* ------------------------------------------------------------------ field layout */

/* The size of one stored value of field f (an element of a repeated field). */
static size_t value_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

/* A proto3 `optional` scalar, whose presence is a has_ flag. */
static bool has_flag(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
           !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->type != PROTOBUF_C_TYPE_STRING &&
           f->type != PROTOBUF_C_TYPE_MESSAGE;
}

/* False for a oneof member that is not the chosen one and for an unset proto3 `optional`
 * scalar: JSON leaves out what the message does not hold. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (has_flag(f))
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset) != 0;
    return true;
}

/* The lowerCamelCase name protoc gives a field in JSON: each '_' dropped and the letter after
 * it capitalised ("start_time" -> "startTime"). */
static void camel_name(const char *name, char *out, size_t len)
{
    size_t n = 0;
    bool upper = false;
    for (; *name && n + 1 < len; name++) {
        if (*name == '_') {
            upper = true;
            continue;
        }
        out[n++] = upper && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
        upper = false;
    }
    out[n] = '\0';
}

/* ------------------------------------------------------------------ message -> JSON */

static json_t *message_json(const ProtobufCMessage *m, enum clinic_json_names names);

static json_t *base64_json(const ProtobufCBinaryData *b)
{
    size_t len = sodium_base64_encoded_len(b->len, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(len);
    if (!text)
        return NULL;
    sodium_bin2base64(text, len, b->data, b->len, sodium_base64_VARIANT_ORIGINAL);
    json_t *v = json_string(text);
    free(text);
    return v;
}

/* Text as a JSON string. Text that is not UTF-8 (a peer that broke the contract: protobuf-c does
 * not check) loses the bytes that are not, through iconv, instead of the whole document. */
static json_t *text_json(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    size_t in_left = strlen(s), out_left = in_left;
    char *in = (char *)s, *out = malloc(out_left + 1), *o = out;
    iconv_t cd = iconv_open("UTF-8//IGNORE", "UTF-8");
    if (out && cd != (iconv_t)-1) {
        (void)iconv(cd, &in, &in_left, &o, &out_left); /* EILSEQ: what was skipped */
        *o = '\0';
        v = json_string(out);
    }
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(out);
    return v ? v : json_string("");
}

/* A float or double: a number, or for what JSON has no number for, "NaN", "Infinity" and
 * "-Infinity". */
static json_t *number_json(double v)
{
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

/* One value of field f stored at p. */
static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p,
                          enum clinic_json_names names)
{
    char digits[24];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(digits, sizeof digits, "%" PRId64, *(const int64_t *)p);
        return json_string(digits);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(digits, sizeof digits, "%" PRIu64, *(const uint64_t *)p);
        return json_string(digits);
    case PROTOBUF_C_TYPE_FLOAT:
        return number_json((double)*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return number_json(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        /* a value from a newer peer than this .proto prints as its number */
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return text_json(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return base64_json((const ProtobufCBinaryData *)p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? message_json(sub, names) : json_null();
    }
    }
    return NULL;
}

static json_t *field_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                          enum clinic_json_names names)
{
    const char *base = (const char *)m;
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return value_json(f, base + f->offset, names);
    size_t n = *(const size_t *)(base + f->quantifier_offset);
    const char *values = *(char *const *)(base + f->offset);
    json_t *array = json_array();
    for (size_t k = 0; array && k < n; k++) {
        if (json_array_append_new(array, value_json(f, values + k * value_size(f), names)) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

static json_t *message_json(const ProtobufCMessage *m, enum clinic_json_names names)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *object = json_object();
    for (unsigned i = 0; object && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!field_present(m, f))
            continue;
        char camel[128];
        const char *key = f->name;
        if (names == CLINIC_JSON_CAMEL_NAMES) {
            camel_name(f->name, camel, sizeof camel);
            key = camel;
        }
        if (json_object_set_new(object, key, field_json(m, f, names)) != 0) {
            json_decref(object);
            return NULL;
        }
    }
    return object;
}

char *clinic_message_to_json_named(const ProtobufCMessage *message, enum clinic_json_names names)
{
    json_t *v = message_json(message, names);
    if (!v)
        return NULL;
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return text;
}

char *clinic_message_to_json(const ProtobufCMessage *message)
{
    return clinic_message_to_json_named(message, CLINIC_JSON_PROTO_NAMES);
}

/* ------------------------------------------------------------------ JSON -> message */

/* Where the reader is ("booking.start_time", "ids[2]") and why it stopped. */
struct reader {
    char path[160];
    char *why;
    size_t why_len;
};

static bool refuse(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool refuse(struct reader *r, const char *fmt, ...)
{
    char sentence[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    va_end(ap);
    if (r->path[0])
        snprintf(r->why, r->why_len, "%s: %s", r->path, sentence);
    else
        snprintf(r->why, r->why_len, "%s", sentence);
    return false;
}

/* An integer given as a JSON number or as a string of digits, within [min, max]. */
static bool read_integer(struct reader *r, const json_t *v, long long min, long long max,
                         long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9007199254740992.0) {
        *out = (long long)json_real_value(v); /* 3.0 is 3, as the mapping allows */
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        *out = strtoll(s, &end, 10);
        if (errno || end == s || *end)
            return refuse(r, "\"%.40s\" is not a whole number", s);
    } else {
        return refuse(r, "expected a whole number");
    }
    if (*out < min || *out > max)
        return refuse(r, "%lld is out of range (%lld to %lld)", *out, min, max);
    return true;
}

static bool read_unsigned64(struct reader *r, const json_t *v, uint64_t *out)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        unsigned long long u = strtoull(s, &end, 10);
        if (errno || end == s || *end || *s == '-')
            return refuse(r, "\"%.40s\" is not a whole number from 0", s);
        *out = u;
        return true;
    }
    long long n;
    if (!read_integer(r, v, 0, LLONG_MAX, &n))
        return false;
    *out = (uint64_t)n;
    return true;
}

static bool read_number(struct reader *r, const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (!json_is_string(v))
        return refuse(r, "expected a number");
    const char *s = json_string_value(v);
    if (strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (strcmp(s, "Infinity") == 0)
        *out = INFINITY;
    else if (strcmp(s, "-Infinity") == 0)
        *out = -INFINITY;
    else {
        char *end;
        errno = 0;
        *out = strtod(s, &end);
        if (errno || end == s || *end)
            return refuse(r, "\"%.40s\" is not a number", s);
    }
    return true;
}

static bool read_enum(struct reader *r, const ProtobufCFieldDescriptor *f, const json_t *v,
                      int *out)
{
    const ProtobufCEnumDescriptor *e = f->descriptor;
    if (json_is_string(v)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(e, json_string_value(v));
        if (!ev)
            return refuse(r, "\"%.40s\" is not one of %s's values", json_string_value(v),
                          e->short_name);
        *out = ev->value;
        return true;
    }
    long long n;
    if (!read_integer(r, v, INT_MIN, INT_MAX, &n))
        return false;
    *out = (int)n;
    return true;
}

static bool read_bytes(struct reader *r, const json_t *v, ProtobufCBinaryData *out)
{
    if (!json_is_string(v))
        return refuse(r, "expected base64 text");
    const char *text = json_string_value(v);
    size_t len = json_string_length(v);
    uint8_t *bin = malloc(len ? len : 1);
    if (!bin)
        return refuse(r, "out of memory");
    /* standard or URL-safe alphabet, padded or not: the mapping accepts each */
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        size_t n;
        if (sodium_base642bin(bin, len ? len : 1, text, len, NULL, &n, NULL, variants[i]) == 0) {
            out->data = bin;
            out->len = n;
            return true;
        }
    }
    free(bin);
    return refuse(r, "not base64 text");
}

static bool read_message(struct reader *r, const ProtobufCMessageDescriptor *d, const json_t *v,
                         int depth, ProtobufCMessage **out);

/* Reads v into the value of field f at p (an element of a repeated field, or the field). */
static bool read_value(struct reader *r, const ProtobufCFieldDescriptor *f, const json_t *v,
                       int depth, void *p)
{
    long long n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!read_integer(r, v, INT32_MIN, INT32_MAX, &n))
            return false;
        *(int32_t *)p = (int32_t)n;
        return true;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!read_integer(r, v, 0, UINT32_MAX, &n))
            return false;
        *(uint32_t *)p = (uint32_t)n;
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!read_integer(r, v, LLONG_MIN, LLONG_MAX, &n))
            return false;
        *(int64_t *)p = n;
        return true;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return read_unsigned64(r, v, (uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT: {
        double d;
        if (!read_number(r, v, &d))
            return false;
        if (isfinite(d) && fabs(d) > 3.4028234663852886e38)
            return refuse(r, "%g is out of range for a float", d);
        *(float *)p = (float)d;
        return true;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return read_number(r, v, (double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return refuse(r, "expected true or false");
        *(protobuf_c_boolean *)p = json_is_true(v);
        return true;
    case PROTOBUF_C_TYPE_ENUM:
        return read_enum(r, f, v, (int *)p);
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v))
            return refuse(r, "expected text");
        char *s = strdup(json_string_value(v));
        if (!s)
            return refuse(r, "out of memory");
        *(char **)p = s;
        return true;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return read_bytes(r, v, (ProtobufCBinaryData *)p);
    case PROTOBUF_C_TYPE_MESSAGE:
        return read_message(r, f->descriptor, v, depth + 1, (ProtobufCMessage **)p);
    }
    return refuse(r, "a field of an unknown type");
}

/* Extends r->path by ".key" or "[k]" while a value is read; returns the length to cut back to. */
static size_t path_push_key(struct reader *r, const char *key)
{
    size_t len = strlen(r->path);
    snprintf(r->path + len, sizeof r->path - len, "%s%s", len ? "." : "", key);
    return len;
}

static size_t path_push_index(struct reader *r, size_t k)
{
    size_t len = strlen(r->path);
    snprintf(r->path + len, sizeof r->path - len, "[%zu]", k);
    return len;
}

static bool read_repeated(struct reader *r, const ProtobufCFieldDescriptor *f, const json_t *v,
                          int depth, char *base)
{
    if (json_is_null(v))
        return true;
    if (!json_is_array(v))
        return refuse(r, "expected a list");
    size_t n = json_array_size(v);
    if (n == 0)
        return true;
    char *values = calloc(n, value_size(f));
    if (!values)
        return refuse(r, "out of memory");
    /* stored before reading, so that what was read is freed with the message on a failure */
    *(char **)(base + f->offset) = values;
    size_t *count = (size_t *)(base + f->quantifier_offset);
    for (size_t k = 0; k < n; k++) {
        size_t at = path_push_index(r, k);
        (*count)++; /* counted first: an element half read is freed with the message */
        if (!read_value(r, f, json_array_get(v, k), depth, values + k * value_size(f)))
            return false;
        r->path[at] = '\0';
    }
    return true;
}

/* The field of d that JSON key names: the .proto name or its lowerCamelCase form. */
static const ProtobufCFieldDescriptor *field_for_key(const ProtobufCMessageDescriptor *d,
                                                     const char *key)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
    for (unsigned i = 0; !f && i < d->n_fields; i++) {
        char camel[128];
        camel_name(d->fields[i].name, camel, sizeof camel);
        if (strcmp(camel, key) == 0)
            f = &d->fields[i];
    }
    return f;
}

static bool read_field(struct reader *r, const ProtobufCFieldDescriptor *f, const json_t *v,
                       int depth, ProtobufCMessage *m)
{
    char *base = (char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return read_repeated(r, f, v, depth, base);
    if (json_is_null(v))
        return true; /* null is the field's default */
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *chosen = (uint32_t *)(base + f->quantifier_offset);
        if (*chosen != 0)
            return refuse(r, "only one field of its group may be given");
        if (!read_value(r, f, v, depth, base + f->offset))
            return false;
        *chosen = f->id;
        return true;
    }
    if (!read_value(r, f, v, depth, base + f->offset))
        return false;
    if (has_flag(f))
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return true;
}

static bool read_message(struct reader *r, const ProtobufCMessageDescriptor *d, const json_t *v,
                         int depth, ProtobufCMessage **out)
{
    if (depth > MAX_DEPTH)
        return refuse(r, "nested more than %d levels deep", MAX_DEPTH);
    if (!json_is_object(v))
        return refuse(r, "expected an object (a %s)", d->short_name);
    ProtobufCMessage *m = malloc(d->sizeof_message);
    if (!m)
        return refuse(r, "out of memory");
    d->message_init(m);
    *out = m; /* from here on the caller frees it, whatever was read */
    bool *seen = calloc(d->n_fields ? d->n_fields : 1, sizeof *seen);
    if (!seen)
        return refuse(r, "out of memory");
    bool ok = true;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value)
    {
        const ProtobufCFieldDescriptor *f = field_for_key(d, key);
        size_t at = path_push_key(r, key);
        if (!f) {
            ok = refuse(r, "no such field in %s", d->short_name);
            break;
        }
        /* "start_time" and "startTime" name one field: once only */
        if (seen[f - d->fields]) {
            ok = refuse(r, "given twice (as %s and as its other name)", f->name);
            break;
        }
        seen[f - d->fields] = true;
        if (!read_field(r, f, value, depth, m)) {
            ok = false;
            break;
        }
        r->path[at] = '\0';
    }
    free(seen);
    return ok;
}

ProtobufCMessage *clinic_message_from_json(const ProtobufCMessageDescriptor *descriptor,
                                           const char *text, size_t len, char *why, size_t why_len)
{
    json_error_t error;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!v) {
        snprintf(why, why_len, "not valid JSON: %s (line %d, column %d)", error.text, error.line,
                 error.column);
        return NULL;
    }
    struct reader r = {.why = why, .why_len = why_len};
    ProtobufCMessage *m = NULL;
    bool ok = read_message(&r, descriptor, v, 0, &m);
    json_decref(v);
    if (!ok) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}
