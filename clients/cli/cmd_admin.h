/* cmd_admin.h: what the `clinic admin` files (cmd_admin.c, cmd_admin_places.c,
 * cmd_admin_people.c, cmd_admin_users.c) share:
 * one way to run a verb, print a record, and print a list. */
#ifndef CLINIC_CLI_CMD_ADMIN_H
#define CLINIC_CLI_CMD_ADMIN_H

#include <stdbool.h>

#include "cli.h"
#include "options.h"
#include "table.h"

/* Prints one record as a block; `done` ("Created", NULL for a plain get) starts its heading. */
typedef void admin_print_fn(const ProtobufCMessage *record, const char *done);
/* Adds one list item as a table row. */
typedef void admin_row_fn(struct table *t, const ProtobufCMessage *item);

/* The heading line of a record: "Created location 3: Mitte" / "Location 3: Mitte". */
void admin_heading(const char *done, const char *noun, int64_t id, const char *name);
/* One "  label        value" line of a record block. */
void admin_line(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "a, b, c" of a string list into out ("-" when empty). */
const char *admin_join(char *const *items, size_t n, char *out, size_t len);

/* Calls method with req and prints the reply: JSON with --json, else with print. Frees opts'
 * lists. Returns the exit status. */
int admin_call(struct cli *cli, struct option *opts, const char *method,
               const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_type,
               admin_print_fn *print, const char *done);

/* Calls a paged List method (all pages with `all`) and prints its items as a table with the
 * given headers, or the merged reply as one JSON document with --json. Frees opts' lists. */
int admin_list(struct cli *cli, struct option *opts, const char *method, ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *reply_type, bool all, size_t ncols,
               const char *const *headers, admin_row_fn *row);

/* For unpaged lists (hours, time off, closures): the same, in one call. */
int admin_list_once(struct cli *cli, struct option *opts, const char *method,
                    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_type,
                    size_t ncols, const char *const *headers, admin_row_fn *row);

/* Fills an update request's mask with the fields of the options given; a usage error when
 * none was. Returns 0 or the exit status (opts' lists then freed). */
int admin_mask(struct cli *cli, struct option *opts, char **mask, size_t max, size_t *n);

/* get, archive and delete: a request holding one `id` (req_type's), taken from the positional
 * ID. Without a printer (deletes answer an empty message) it prints "<done> <id>.". */
int admin_by_id(struct cli *cli, int argc, char **argv, const ProtobufCMessageDescriptor *req_type,
                const char *method, const ProtobufCMessageDescriptor *reply_type,
                admin_print_fn *print, const char *done, const char *what);

/* Parses argv into opts; false (lists freed) when the verb should return *code. */
bool admin_parse(struct cli *cli, struct option *opts, int argc, char **argv, int *code);

#define ID_ARG(dest, what)                                                                         \
    OPT("ID", OPTION_ID, (dest), (what), .flags = OPTION_POSITIONAL | OPTION_REQUIRED,             \
        .field = "id")
#define VERB(verb_name, fn, text)                                                                  \
    {                                                                                              \
        .name = (verb_name), .run = (fn), .summary = (text)                                        \
    }
#define MAX_MASK 24 /* the most fields one update names (a location has 19) */

extern const struct command admin_location_verbs[];
extern const struct command admin_closure_verbs[];
extern const struct command admin_room_verbs[];
extern const struct command admin_service_verbs[];
extern const struct command admin_therapist_verbs[];
extern const struct command admin_hours_verbs[];
extern const struct command admin_time_off_verbs[];
extern const struct command admin_client_verbs[];
extern const struct command admin_user_verbs[];

/* "admin", "front_desk", "therapist", "client" for a clinic.v1.Role ("none" for 0). */
const char *admin_role_name(int role);
/* Prints a clinic.v1.User as a block (whoami and login print the same user their own way). */
void admin_print_user(const ProtobufCMessage *user, const char *done);

#endif
