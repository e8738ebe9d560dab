/* fuzz_check.h: the oracles the fuzz targets share. A target that finds a broken promise calls
 * fuzz_fail, which prints what was broken and aborts, so libFuzzer keeps the input. */
#ifndef CLINIC_FUZZ_CHECK_H
#define CLINIC_FUZZ_CHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prints "fuzz check failed: <sentence>" to stderr and aborts. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether checks that a known, unfixed bug would fail run anyway: set FUZZ_CHECK_KNOWN_BUGS=1 to
 * reproduce a finding of tests/fuzz/findings/. Without it a target steps around the bug, so that
 * fuzzing goes on finding others. */
bool fuzz_check_known_bugs(void);

/* The length of the well-formed UTF-8 sequence at s (n bytes available), 0 when there is none;
 * written from the Unicode standard's table 3-7, independently of daemon/wire.c. */
size_t fuzz_utf8_sequence(const uint8_t *s, size_t n);

/* True when s[0..n) is well-formed UTF-8 without a NUL byte. */
bool fuzz_utf8_valid(const uint8_t *s, size_t n);

/* True when every string field of m, at any depth, is well-formed UTF-8; *bad names the first
 * field that is not. */
bool fuzz_message_text_valid(const ProtobufCMessage *m, const char **bad);

/* Decodes reply as the clinic.v1.RpcResponse rpc_serve promises and checks it: a status, a
 * request id, a status code from 0 to 16, valid UTF-8 everywhere, a sentence when the call
 * failed, violations only with INVALID_ARGUMENT, no payload unless OK. When output is
 * not NULL and the call succeeded, the payload must decode as output with valid text. Returns the
 * status code. */
int fuzz_check_reply(const uint8_t *reply, size_t len, const ProtobufCMessageDescriptor *output);

#endif
