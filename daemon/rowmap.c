/* rowmap.c: query rows into protobuf-c messages, by field name, using the descriptors. */
#include "rowmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "db.h"
#include "param.h"
#include "status.h"

ProtobufCMessage *rowmap_new(struct call *call, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = call_alloc(call, desc->sizeof_message);
    if (m)
        desc->message_init(m);
    else
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    return m;
}

void rowmap_reply_done(struct call *call, const struct db_stmt *stmt, const char *const *params,
                       const ProtobufCMessageDescriptor *reply)
{
    if (db_query(call->db, stmt, params, NULL) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    ProtobufCMessage *out = rowmap_new(call, reply);
    if (out)
        call_reply(out, call);
}

static bool parse_int(const char *text, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll(text, &end, 10);
    return errno == 0 && end != text && *end == '\0';
}

/* The enum number for text: digits, or the lower-case tail of a value's name. */
static bool parse_enum(const ProtobufCEnumDescriptor *e, const char *text, int *out)
{
    long long n;
    if (parse_int(text, &n)) {
        *out = (int)n;
        return true;
    }
    size_t tl = strlen(text);
    for (unsigned i = 0; i < e->n_values; i++) {
        const char *name = e->values[i].name;
        size_t nl = strlen(name);
        if (nl > tl && name[nl - tl - 1] == '_' && strcasecmp(name + nl - tl, text) == 0) {
            *out = e->values[i].value;
            return true;
        }
    }
    return false;
}

static size_t scalar_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

/* Stores text into one value slot of field f. */
static bool store_value(struct call *call, const ProtobufCFieldDescriptor *f, void *slot,
                        const char *text)
{
    long long n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return (*(char **)slot = call_strdup(call, text)) != NULL;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)slot = text[0] == 't' || text[0] == '1';
        return true;
    case PROTOBUF_C_TYPE_ENUM:
        return parse_enum(f->descriptor, text, (int *)slot);
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)slot = strtod(text, NULL);
        return true;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)slot = strtof(text, NULL);
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!parse_int(text, &n))
            return false;
        *(int64_t *)slot = n;
        return true;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!parse_int(text, &n))
            return false;
        *(int32_t *)slot = (int32_t)n;
        return true;
    default:
        return false; /* bytes and nested messages are filled by the handler */
    }
}

/* Splits a one-dimensional PostgreSQL array literal ({a,"b c","d\\"e"}) in place: items are
 * unquoted and unescaped; NULL items are not expected (our arrays have none). Returns the count,
 * -1 when malformed. */
static int split_array(char *text, char **items, int max)
{
    size_t len = strlen(text);
    if (len < 2 || text[0] != '{' || text[len - 1] != '}')
        return -1;
    text[len - 1] = '\0';
    char *in = text + 1, *out = text + 1;
    int n = 0;
    while (*in) {
        if (n == max)
            return -1;
        items[n++] = out;
        bool quoted = *in == '"';
        in += quoted;
        while (*in && (quoted ? *in != '"' : *in != ',')) {
            if (quoted && *in == '\\' && in[1])
                in++;
            *out++ = *in++;
        }
        in += quoted && *in == '"';
        if (*in == ',')
            in++;
        *out++ = '\0';
    }
    return n;
}

/* A PostgreSQL array literal into a repeated field. */
static bool store_array(struct call *call, const ProtobufCFieldDescriptor *f, char *base,
                        const char *text)
{
    char *copy = call_strdup(call, text);
    int max = (int)strlen(text) + 1;
    char **items = copy ? call_alloc(call, (size_t)max * sizeof *items) : NULL;
    int n = items ? split_array(copy, items, max) : -1;
    if (n < 0)
        return false;
    char *values = call_alloc(call, (size_t)(n ? n : 1) * scalar_size(f->type));
    if (!values)
        return false;
    for (int i = 0; i < n; i++)
        if (!store_value(call, f, values + (size_t)i * scalar_size(f->type), items[i]))
            return false;
    *(size_t *)(base + f->quantifier_offset) = (size_t)n;
    *(void **)(base + f->offset) = values;
    return true;
}

bool rowmap_fill(struct call *call, ProtobufCMessage *msg, const struct db_result *r, int row)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    char *base = (char *)msg;
    for (int col = 0; col < db_columns(r); col++) {
        const char *name = db_column_name(r, col);
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(d, name);
        if (!f || db_is_null(r, row, col))
            continue;
        const char *text = db_value(r, row, col);
        bool ok = f->label == PROTOBUF_C_LABEL_REPEATED
                      ? store_array(call, f, base, text)
                      : store_value(call, f, base + f->offset, text);
        if (!ok) {
            call_fail_internal(call);
            return false;
        }
    }
    return true;
}

void rowmap_reply_row(struct call *call, const struct db_result *r, int row,
                      const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = rowmap_new(call, desc);
    if (m && rowmap_fill(call, m, r, row))
        call_reply(m, call);
}

void rowmap_reply_one(struct call *call, const struct db_stmt *stmt, const char *const *params,
                      const ProtobufCMessageDescriptor *desc, const char *not_found, ...)
{
    struct db_result *r;
    if (db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (db_rows(r) == 0) {
        char sentence[256];
        va_list ap;
        va_start(ap, not_found);
        vsnprintf(sentence, sizeof sentence, not_found, ap);
        va_end(ap);
        call_fail(call, STATUS_NOT_FOUND, "%s", sentence);
    } else {
        rowmap_reply_row(call, r, 0, desc);
    }
    db_result_free(r);
}

void rowmap_reply_inserted(struct call *call, const struct db_stmt *stmt, const char *const *params,
                           const ProtobufCMessageDescriptor *desc)
{
    struct db_result *r;
    if (db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (db_rows(r) == 1)
        rowmap_reply_row(call, r, 0, desc);
    else
        call_fail_internal(call);
    db_result_free(r);
}

void rowmap_reply_by_id(struct call *call, const struct db_stmt *stmt, int64_t id,
                        const ProtobufCMessageDescriptor *desc, const char *record)
{
    if (check_id(call, "id", id))
        rowmap_reply_one(call, stmt, (const char *[]){param_i64(call, id)}, desc,
                         "%s %lld does not exist", record, (long long)id);
}

bool rowmap_fill_list(struct call *call, ProtobufCMessage *list, const char *field,
                      const struct db_result *r, int rows)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(list->descriptor, field);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED)
        abort(); /* a handler names a field its own response type lacks: a programming error */
    ProtobufCMessage **items = call_alloc(call, (rows ? (size_t)rows : 1) * sizeof *items);
    if (!items) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    for (int i = 0; i < rows; i++) {
        items[i] = rowmap_new(call, f->descriptor);
        if (!items[i] || !rowmap_fill(call, items[i], r, i))
            return false;
    }
    *(size_t *)((char *)list + f->quantifier_offset) = (size_t)rows;
    *(ProtobufCMessage ***)((char *)list + f->offset) = items;
    return true;
}

void rowmap_reply_list(struct call *call, const struct db_stmt *stmt, const char *const *params,
                       const ProtobufCMessageDescriptor *list_desc, const char *field,
                       uint32_t page_size)
{
    struct db_result *r;
    if (db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    int rows = db_rows(r);
    bool more = rows > (int)page_size;
    if (more)
        rows = (int)page_size;
    ProtobufCMessage *list = rowmap_new(call, list_desc);
    if (list && rowmap_fill_list(call, list, field, r, rows)) {
        const ProtobufCFieldDescriptor *token =
            protobuf_c_message_descriptor_get_field_by_name(list_desc, "next_page_token");
        int key_col = -1;
        for (int c = 0; c < db_columns(r); c++)
            if (strcmp(db_column_name(r, c), "page_key") == 0)
                key_col = c;
        if (more && token && key_col >= 0)
            *(char **)((char *)list + token->offset) =
                call_strdup(call, db_value(r, rows - 1, key_col));
        call_reply(list, call);
    }
    db_result_free(r);
}

const char *rowmap_changed_id(struct call *call, const struct db_stmt *stmt,
                              const char *const *params, const char *not_found, ...)
{
    struct db_result *r;
    if (db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return NULL;
    }
    int rows = db_rows(r);
    bool present = rows == 1 && !db_is_null(r, 0, 0);
    const char *id = present ? call_strdup(call, db_value(r, 0, 0)) : NULL;
    db_result_free(r);
    if (rows == 0 && not_found) {
        char sentence[256];
        va_list ap;
        va_start(ap, not_found);
        vsnprintf(sentence, sizeof sentence, not_found, ap);
        va_end(ap);
        call_fail(call, STATUS_NOT_FOUND, "%s", sentence);
    } else if (present && !id) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    } else if (!id) {
        call_fail_internal(call);
    }
    return id;
}

void rowmap_reply_all(struct call *call, const struct db_stmt *stmt, const char *const *params,
                      const ProtobufCMessageDescriptor *list_desc, const char *field)
{
    struct db_result *r;
    if (db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    ProtobufCMessage *list = rowmap_new(call, list_desc);
    if (!list)
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    else if (rowmap_fill_list(call, list, field, r, db_rows(r)))
        call_reply(list, call);
    db_result_free(r);
}
