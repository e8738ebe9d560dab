/* idempotency.h: a retried mutating call with the same idempotency key gets the first call's
 * answer, never a second effect. The key, a hash of the request and the packed response are
 * written in the call's own transaction, so they commit (or vanish) together with its work.
 *
 * A call takes a transaction-scoped advisory lock on (its user, its key) in the round trip that
 * opens its transaction, and only then looks the key up: a concurrent call with the same key
 * (nng's REQ resends a request whose connection dropped, while the first may still be running)
 * waits there until the first one ends, then finds its stored answer. The row is written once,
 * with the response, in the call's last round trip. */
#ifndef CLINICD_IDEMPOTENCY_H
#define CLINICD_IDEMPOTENCY_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "call.h"
#include "db.h"

#define IDEM_FIND_STEPS 2

enum idem_claim {
    IDEM_FRESH,    /* first use of the key: run the handler, then store its reply */
    IDEM_REPLAYED, /* the call's reply is the stored one (call->reply is set) */
    IDEM_FAILED,   /* the call failed (key reused for another request, or out of memory) */
};

/* The IDEM_FIND_STEPS statements that lock key and look it up, for the round trip that opens
 * the call's transaction after the caller's authentication (the caller is the user that
 * authentication recorded in the transaction, or user 0). *found receives the stored row, if
 * any, once the round trip has run. False (the call failed) when out of memory. */
__attribute__((warn_unused_result)) bool idem_find_steps(struct call *call, const char *key,
                                                         struct db_step *steps,
                                                         struct db_result **found);

/* What the looked-up row (found, which it frees; NULL is no row) means for this call of method
 * with payload under key; a key over 128 characters fails the call. */
__attribute__((warn_unused_result)) enum idem_claim idem_check(struct call *call,
                                                               struct db_result *found,
                                                               const char *key, const char *method,
                                                               const ProtobufCBinaryData *payload);

/* The statement that stores the call's packed reply under key, for the call's last round trip
 * (db_commit_with). False (the call failed) when out of memory. */
__attribute__((warn_unused_result)) bool idem_store_step(struct call *call, const char *key,
                                                         const char *method,
                                                         const ProtobufCBinaryData *payload,
                                                         struct db_step *step);

#endif
