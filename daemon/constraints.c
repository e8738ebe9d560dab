/* constraints.c: the constraint -> sentence table (constraints.h). A constraint may have several
 * rows: the first whose {field}s the request carries (a non-empty string, a non-zero id) is used,
 * so an update that does not name the location still gets a sentence. */
#include "constraints.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "wire.h"

/* Quoted values are cut to this many bytes (at a character boundary). */
#define VALUE_IN_SENTENCE 100

static const struct {
    const char *constraint; /* as sql/ names it */
    int code;
    const char *sentence;
} constraint_table[] = {
    /* unique keys: the value is taken */
    {"clients_email_key", STATUS_ALREADY_EXISTS, "a client with email \"{email}\" already exists"},
    {"locations_name_key", STATUS_ALREADY_EXISTS, "a location named \"{name}\" already exists"},
    {"rooms_location_name_key", STATUS_ALREADY_EXISTS,
     "a room named \"{name}\" already exists at location {location_id}"},
    {"rooms_location_name_key", STATUS_ALREADY_EXISTS,
     "a room named \"{name}\" already exists at the room's location"},
    {"services_name_key", STATUS_ALREADY_EXISTS, "a service named \"{name}\" already exists"},
    {"therapists_email_key", STATUS_ALREADY_EXISTS,
     "a therapist with email {email} already exists"},
    {"users_email_key", STATUS_ALREADY_EXISTS, "a user with this email already exists"},
    {"users_therapist_key", STATUS_ALREADY_EXISTS, "that therapist already has a user"},
    {"users_client_key", STATUS_ALREADY_EXISTS, "that client already has a user"},
    {"treatment_notes_one_per_appointment", STATUS_ALREADY_EXISTS,
     "appointment {appointment_id} already has a note; edit that draft instead"},
    /* references: the record named does not exist. A reference also refuses deleting what it
     * points at (same constraint, same SQLSTATE): those requests name the record by "id", so
     * these rows, which need the referencing field, do not apply to them. */
    {"rooms_location_id_fkey", STATUS_NOT_FOUND, "location {location_id} does not exist"},
    {"closures_location_id_fkey", STATUS_NOT_FOUND, "location {location_id} does not exist"},
    {"working_hours_location_id_fkey", STATUS_NOT_FOUND, "location {location_id} does not exist"},
    {"working_hours_therapist_id_fkey", STATUS_NOT_FOUND,
     "therapist {therapist_id} does not exist"},
    {"users_therapist_fkey", STATUS_NOT_FOUND, "therapist {therapist_id} does not exist"},
    {"users_client_fkey", STATUS_NOT_FOUND, "client {client_id} does not exist"},
};

/* Appends request's field `name` to out as text. False when the request has no such field or
 * leaves it empty. */
static bool append_field(char *out, size_t size, const ProtobufCMessage *request, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        request ? protobuf_c_message_descriptor_get_field_by_name(request->descriptor, name) : NULL;
    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
        return false;
    const char *at = (const char *)request + f->offset;
    size_t used = strlen(out);
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)at;
        if (!s || !*s)
            return false;
        snprintf(out + used, size - used, "%.*s", (int)wire_utf8_prefix(s, VALUE_IN_SENTENCE), s);
        return true;
    }
    if (f->type == PROTOBUF_C_TYPE_INT64) {
        int64_t id;
        memcpy(&id, at, sizeof id);
        if (id == 0)
            return false;
        snprintf(out + used, size - used, "%lld", (long long)id);
        return true;
    }
    return false;
}

/* Writes template into out with each {field} replaced by the request's value. False when a field
 * is missing. */
static bool fill(char *out, size_t size, const char *template, const ProtobufCMessage *request)
{
    out[0] = '\0';
    for (const char *p = template; *p;) {
        const char *open = strchr(p, '{');
        size_t used = strlen(out);
        if (!open) {
            snprintf(out + used, size - used, "%s", p);
            break;
        }
        snprintf(out + used, size - used, "%.*s", (int)(open - p), p);
        const char *close = strchr(open, '}');
        char name[64];
        if (!close || (size_t)(close - open - 1) >= sizeof name)
            return false;
        snprintf(name, sizeof name, "%.*s", (int)(close - open - 1), open + 1);
        if (!append_field(out, size, request, name))
            return false;
        p = close + 1;
    }
    return true;
}

/* PostgreSQL names an unnamed column CHECK <table>_<column>_check: when <column> is a field of
 * the request, that field is what the caller should fix. */
static bool column_check(const char *constraint, const ProtobufCMessage *request,
                         struct constraint_refusal *out)
{
    static const char suffix[] = "_check";
    size_t len = strlen(constraint), n = sizeof suffix - 1;
    if (!request || len <= n || strcmp(constraint + len - n, suffix) != 0)
        return false;
    const ProtobufCMessageDescriptor *d = request->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const char *field = d->fields[i].name;
        size_t flen = strlen(field);
        if (len > flen + n + 1 && constraint[len - n - flen - 1] == '_' &&
            strncmp(constraint + len - n - flen, field, flen) == 0) {
            out->code = STATUS_INVALID_ARGUMENT;
            snprintf(out->field, sizeof out->field, "%s", field);
            snprintf(out->sentence, sizeof out->sentence,
                     "was refused by the database's rules for this field");
            return true;
        }
    }
    return false;
}

bool constraint_refusal_for(const char *sqlstate, const char *constraint,
                            const ProtobufCMessage *request, struct constraint_refusal *out)
{
    if (!constraint || !*constraint)
        return false;
    out->field[0] = '\0';
    if (strcmp(sqlstate, "23514") == 0)
        return column_check(constraint, request, out);
    for (size_t i = 0; i < sizeof constraint_table / sizeof constraint_table[0]; i++) {
        if (strcmp(constraint_table[i].constraint, constraint) == 0 &&
            fill(out->sentence, sizeof out->sentence, constraint_table[i].sentence, request)) {
            out->code = constraint_table[i].code;
            return true;
        }
    }
    return false;
}

const char *constraint_table_name(size_t i)
{
    return i < sizeof constraint_table / sizeof constraint_table[0] ? constraint_table[i].constraint
                                                                    : NULL;
}
