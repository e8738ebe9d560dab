/* call.h: what a handler sees of the call it serves (the worker's database connection, the
 * caller's identifiers) and how it reports the outcome. Handlers reply through protobuf-c's
 * closure on success, or call call_fail / call_violation / call_fail_db and return. */
#ifndef CLINICD_CALL_H
#define CLINICD_CALL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "methods.h" /* enum caller_role */

struct db;
struct rpc_table;

#define CALL_MAX_VIOLATIONS 16

/* Who is calling, from their token (auth.c). The same identity is set in the transaction as
 * clinic.role / clinic.user_id / clinic.user_therapist_id / clinic.user_client_id, with the
 * database role clinic_app, so row-level security and the audit privileges apply. */
struct caller {
    int64_t user_id; /* 0: nobody (public method) */
    enum caller_role role;
    int64_t therapist_id; /* ROLE_THERAPIST: the therapist they act as */
    int64_t client_id;    /* ROLE_CLIENT: the client they act as */
    char token_expires_at[40];
};

struct call_violation {
    char field[64];
    char description[192];
};

struct call {
    /* inputs, valid for the duration of the handler */
    struct db *db;
    int worker;
    const char *peer;   /* the caller's address: "192.0.2.7", "2001:db8::7" or "local" (ipc://) */
    const char *method; /* "/clinic.v1.Health/Check" */
    const char *request_id;
    const char *auth_token;
    const char *idempotency_key;
    const ProtobufCBinaryData *payload; /* the request's serialized input */
    const ProtobufCMessage *request;    /* and decoded, once its handler runs (HANDLER) */
    int64_t deadline_us;                /* monotonic, see clock.h */
    const struct rpc_table *served;     /* every method this daemon serves (for reflection) */
    const char *events_url;             /* where it publishes events, "" nowhere (Server/Info) */
    struct caller caller;               /* set before the handler runs (authorisation passed) */

    /* what the call acted on ("appointment:42"), for its audit row: set from the request by the
     * authorisation table, or by the handler with call_set_target (e.g. the id it created) */
    char audit_target[96];

    /* outcome */
    int code; /* STATUS_OK until a handler fails */
    char message[256];
    struct call_violation violations[CALL_MAX_VIOLATIONS];
    size_t n_violations;
    bool replied; /* the closure ran: reply holds the packed response */
    ProtobufCBinaryData reply;

    /* memory that lives until the call ends (see call_alloc) */
    void *arena;
    size_t arena_used, arena_size;
};

/* Zeroed memory that lives until the call is answered: for response messages and their
 * strings and arrays, so handlers free nothing. NULL when out of memory. */
void *call_alloc(struct call *call, size_t size);
char *call_strdup(struct call *call, const char *s);
/* The caller as records name who made them ("user:12": appointments.booked_by, a feed's
 * rotated_by, a waitlist entry's created_by), in the arena. */
const char *call_caller_tag(struct call *call);

/* Names what the call acted on, for the audit trail (printf-style, e.g. "note:%lld"). */
void call_set_target(struct call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The caller's role as the database and the audit trail spell it ("front_desk"), "" for none. */
const char *caller_role_name(enum caller_role role);
/* The role called name ("front_desk"), ROLE_NONE when there is none. */
enum caller_role caller_role_from_name(const char *name);

/* Fails the call with code and a sentence (printf-style). The first failure wins. */
void call_fail(struct call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails the call INTERNAL with the sentence that asks the caller to report its request id (the
 * cause goes to the log, never to the caller). */
void call_fail_internal(struct call *call);

/* Records one bad field and makes the call INVALID_ARGUMENT; the message summarises the fields. */
void call_violation(struct call *call, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails the call with the database's last error: the sentence constraints.c has for the
 * constraint it names, filled from the request, or else the SQLSTATE's status and client-safe
 * sentence. The server's primary message goes to the log with the request id, never to the
 * client. */
void call_fail_db(struct call *call);

/* The protobuf-c closure every handler receives: packs the response into call->reply. */
void call_reply(const ProtobufCMessage *response, void *closure_data);

/* Clears the outcome so the handler can run again (a retried transaction). */
void call_reset_outcome(struct call *call);

/* Drops the packed reply (the call is about to fail instead). */
void call_release_reply(struct call *call);

/* Releases what the outcome holds: the reply and the arena. */
void call_release(struct call *call);

#endif
