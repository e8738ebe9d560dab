/* methods.h: the method table. One row per method clinicd serves says everything that is not the
 * handler itself: whether the method changes data, carries a secret, runs outside a transaction
 * or reads the clinical record, and who may call it on what. The daemon dispatches, audits and
 * authorises by it; the CLI and libclinic programs read from it whether a call takes an
 * idempotency key; Reflection lists it. The handlers are the protobuf-c services' (handlers.c),
 * matched to their rows by name when the daemon starts. */
#ifndef CLINIC_METHODS_H
#define CLINIC_METHODS_H

#include <stdbool.h>
#include <stddef.h>

/* The caller's role; the numbers are clinic.v1.Role's. */
enum caller_role {
    ROLE_NONE = 0, /* no token (public methods only) */
    ROLE_ADMIN = 1,
    ROLE_FRONT_DESK = 2,
    ROLE_THERAPIST = 3,
    ROLE_CLIENT = 4,
};
#define ROLE_COUNT 5

enum method_flag {
    METHOD_PUBLIC = 1 << 0,  /* needs no token */
    METHOD_MUTATES = 1 << 1, /* changes data: honours idempotency_key, audited */
    METHOD_NO_TX = 1 << 2,   /* runs outside a transaction (touches the database itself, or not) */
    METHOD_AUDIT_READ = 1 << 3,    /* a read of clinical data: audited like a mutation */
    METHOD_SECRET_INPUT = 1 << 4,  /* the request carries a password or a key: its idempotency
                                    * key is ignored, since the stored SHA-256 of the request would
                                    * let anyone with the table try passwords against it offline;
                                    * the gateway limits such calls per address and minute */
    METHOD_STANDBY_OK = 1 << 5,    /* a read whose answer may be a moment old: served by a hot
                                    * standby when there is one close behind (standby.h); never
                                    * notes, audit, or what a caller reads back after writing */
    METHOD_SECRET_OUTPUT = 1 << 6, /* the reply carries a new secret (a calendar feed's key): its
                                    * idempotency key is ignored, since the reply kept for it would
                                    * be a copy of the secret in the database */
};

enum method_scope {
    SCOPE_NONE = 0, /* not allowed */
    SCOPE_OWN,      /* the caller's own records: their client, their therapist, their notes */
    SCOPE_CARE,     /* therapists: also the records of clients they treat */
    SCOPE_ALL,      /* everything */
};

enum method_target {
    TARGET_NONE = 0,    /* the method names no single record (lists, searches, one's own session) */
    TARGET_CLIENT,      /* the field is a client id */
    TARGET_THERAPIST,   /* a therapist id */
    TARGET_APPOINTMENT, /* an appointment id */
    TARGET_NOTE,        /* a treatment note id */
    TARGET_USER,        /* a user id */
    TARGET_COURSE,      /* a course id (its client and its therapist, as an appointment's) */
};

struct method_rule {
    const char *method; /* "/clinic.v1.Notes/GetNote" */
    unsigned flags;     /* enum method_flag */
    enum method_target target;
    const char *field; /* the request's int64 field holding the target's id */
    enum method_scope scope[ROLE_COUNT];
};

/* The row of method, or NULL when the table has none. */
const struct method_rule *method_rule_for(const char *method);

/* Every row, for the daemon's start-up check and for tests that walk the table. */
const struct method_rule *method_rules(size_t *n);

/* Whether a call of the rule's method carries an idempotency key: it changes data and carries no
 * secret either way (NULL, a method the table does not know: no). */
bool method_takes_idempotency_key(const struct method_rule *rule);

/* The scope's name ("own", ...) and the target kind's ("appointment", ...), for sentences. */
const char *method_scope_name(enum method_scope scope);
const char *method_target_name(enum method_target target);

#endif
