/* idempotency.h: a retried mutating call with the same idempotency key gets the first call's
 * answer, never a second effect. The key, a hash of the request and the packed response are
 * written in the call's own transaction, so they commit (or vanish) together with its work; a
 * concurrent call with the same key waits on the key's row until the first one ends. */
#ifndef CLINICD_IDEMPOTENCY_H
#define CLINICD_IDEMPOTENCY_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "call.h"
#include "db.h"

enum idem_claim {
    IDEM_FRESH,    /* first use of the key: run the handler, then idem_store */
    IDEM_REPLAYED, /* the call's reply is the stored one (call->reply is set) */
    IDEM_FAILED,   /* the call failed (key reused for another request, or a database error) */
};

/* Claims key for (method, payload) inside the open transaction. */
__attribute__((warn_unused_result)) enum idem_claim
idem_claim(struct call *call, const char *key, const char *method, const ProtobufCBinaryData *payload);

/* The statement that stores the call's packed reply under key, for the call's last round trip
 * (db_commit_with). False (the call failed) when out of memory. */
__attribute__((warn_unused_result)) bool idem_store_step(struct call *call, const char *key,
                                                         struct db_step *step);

#endif
