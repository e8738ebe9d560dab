/* fuzz_daemon.h: what the daemon's fuzz targets and the seed generator share: the methods
 * clinicd serves, every message type its wire knows, and the layout of an input that is a call
 * plus the database's answers.
 *
 * A call input: byte 0 picks the method (its index in the sorted table, modulo its size);
 * byte 1 holds the FUZZ_CALL_* flags; bytes 2 and 3 the payload's length (little-endian, cut
 * to what follows); then the payload (the method's serialized request); then the script the
 * stand-in database answers from (fuzz_db.h). */
#ifndef CLINIC_FUZZ_DAEMON_H
#define CLINIC_FUZZ_DAEMON_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

/* The token every fuzzed call that has one sends: 43 base64url characters, as auth.c wants. */
#define FUZZ_TOKEN "fuzzFUZZfuzzFUZZfuzzFUZZfuzzFUZZfuzzFUZZfuz"
/* The caller the stand-in database finds for it (see fuzz_db_set_caller). */
#define FUZZ_USER_ID      7
#define FUZZ_THERAPIST_ID 8
#define FUZZ_CLIENT_ID    9
/* The address every fuzzed call comes from (login_limit.h counts failed logins per address). */
#define FUZZ_PEER "192.0.2.7"

#define FUZZ_CALL_ROLE_MASK  0x07u /* 0: no token; 1..4: enum caller_role; 5..7: token unknown */
#define FUZZ_CALL_KEY        0x08u /* send an idempotency key */
#define FUZZ_CALL_LONG_KEY   0x10u /* ... one over the daemon's 128 characters */
#define FUZZ_CALL_LOCKED_OUT 0x20u /* FUZZ_PEER is over its failed-login limit */

/* clinicd's dispatch table, every service included (Diagnostics too), built on first use; the
 * log is silenced (a call that fails INTERNAL would write a line per input). */
const struct rpc_server *fuzz_daemon_server(void);

/* Every message type of clinic.v1 that travels: the methods' requests and responses, the
 * envelope, the events, and every type they contain, sorted by name. */
const ProtobufCMessageDescriptor *const *fuzz_message_types(size_t *n);

struct fuzz_call {
    const struct rpc_method *method;
    unsigned flags;
    const uint8_t *payload, *script;
    size_t payload_len, script_len;
};

/* Splits a call input; false when it is shorter than its four header bytes. */
bool fuzz_call_split(const uint8_t *data, size_t size, struct fuzz_call *call);

/* The call input for method number `index` with flags, payload and script: malloc'd, its length
 * in *len. For the seed generator. */
uint8_t *fuzz_call_join(unsigned index, unsigned flags, const uint8_t *payload, size_t payload_len,
                        const uint8_t *script, size_t script_len, size_t *len);

/* The clinic.v1.RpcRequest that carries the call, as a client would send it: the method's
 * name, the payload, FUZZ_TOKEN unless the role is 0, the key the flags ask for, request id
 * "fuzz", a 1 ms deadline (the stand-in database keeps no time; the deadline only keeps
 * Login's back-off from sleeping). malloc'd, its length in *len. */
uint8_t *fuzz_call_envelope(const struct fuzz_call *call, size_t *len);

#endif
