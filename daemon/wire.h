/* wire.h: checks a serialized protobuf message before protobuf-c unpacks it. protobuf-c accepts
 * invalid UTF-8 and embedded NULs in strings (a NUL silently cuts a C string short) and has no
 * nesting limit; this walk refuses all three so handlers and SQL only ever see clean text. */
#ifndef CLINICD_WIRE_H
#define CLINICD_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_MAX_DEPTH 16

/* True when every string field of data (a `desc` message), at any depth up to WIRE_MAX_DEPTH, is
 * valid UTF-8 without NUL bytes and every length stays inside its parent. Otherwise false, with
 * the offending field's path (e.g. "notes.subjective") and the problem in why. Wire types that do
 * not match the schema are left to protobuf-c's unpack, which refuses them. */
__attribute__((warn_unused_result)) bool wire_check(const ProtobufCMessageDescriptor *desc,
                                                    const uint8_t *data, size_t len, char *why,
                                                    size_t whylen);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates) with no NUL byte. */
bool wire_utf8_valid(const uint8_t *s, size_t len);

/* The length of s cut to at most max bytes without splitting a UTF-8 character (s is valid). */
size_t wire_utf8_prefix(const char *s, size_t max);

#endif
