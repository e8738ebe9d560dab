/* wire.c: a schema-guided walk over protobuf wire bytes that validates strings and nesting. */
#include "wire.h"

#include <stdio.h>
#include <string.h>

bool wire_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            n = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

size_t wire_utf8_prefix(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len <= max)
        return len;
    /* step back over continuation bytes so the cut falls before a whole character */
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

struct cursor {
    const uint8_t *p, *end;
};

static bool read_varint(struct cursor *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Moves past a value of wire type wt whose tag was just read; false when it overruns. */
static bool skip_value(struct cursor *c, unsigned wt, const uint8_t **start, size_t *len)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return read_varint(c, &v);
    case 1:
    case 5: {
        size_t n = wt == 1 ? 8 : 4;
        if ((size_t)(c->end - c->p) < n)
            return false;
        c->p += n;
        return true;
    }
    case 2:
        if (!read_varint(c, &v) || v > (uint64_t)(c->end - c->p))
            return false;
        *start = c->p;
        *len = (size_t)v;
        c->p += v;
        return true;
    default: /* groups (3, 4) are not proto3; 6 and 7 do not exist */
        return false;
    }
}

static bool walk(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, int depth,
                 char *path, size_t pathlen, char *why, size_t whylen)
{
    if (depth > WIRE_MAX_DEPTH) {
        snprintf(why, whylen, "messages are nested deeper than %d levels", WIRE_MAX_DEPTH);
        return false;
    }
    struct cursor c = {data, data + len};
    size_t base = strlen(path);
    while (c.p < c.end) {
        uint64_t tag;
        const uint8_t *value = NULL;
        size_t value_len = 0;
        if (!read_varint(&c, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF ||
            !skip_value(&c, (unsigned)(tag & 7), &value, &value_len)) {
            snprintf(why, whylen, "the bytes are not a valid %s message", desc->name);
            return false;
        }
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3));
        if (!f || (tag & 7) != 2)
            continue; /* unknown fields are kept by protobuf-c; other wire types hold no text */
        snprintf(path + base, pathlen - base, "%s%s", base ? "." : "", f->name);
        if (f->type == PROTOBUF_C_TYPE_STRING && !wire_utf8_valid(value, value_len)) {
            snprintf(why, whylen, "field %s is not valid UTF-8 text or contains a NUL byte", path);
            return false;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
            !walk(f->descriptor, value, value_len, depth + 1, path, pathlen, why, whylen))
            return false;
        path[base] = '\0';
    }
    return true;
}

bool wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, char *why,
                size_t whylen)
{
    char path[256] = "";
    if (len == 0)
        return true; /* protobuf-c gives an absent bytes field as {0, NULL}: nothing to walk */
    return walk(desc, data, len, 1, path, sizeof path, why, whylen);
}
