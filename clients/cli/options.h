/* options.h: the one option parser of the `clinic` commands. Each command describes its
 * arguments in a table (name, kind, destination, help line); the parser fills the destinations,
 * answers --help with text generated from the same table, turns a bad value into a usage error
 * (exit 2) that names the option, and remembers which options were given (update masks). */
#ifndef CLINIC_CLI_OPTIONS_H
#define CLINIC_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

enum option_kind {
    OPTION_STRING,   /* char **: any text, "" included */
    OPTION_ID,       /* int64_t *: a whole number from 1 up */
    OPTION_UINT,     /* uint32_t *: a whole number from 0 to 2^32 - 1 */
    OPTION_FLAG,     /* bool *: set to true; takes no value */
    OPTION_LIST,     /* char ***, with count: repeatable, comma-separated ("table,shower") */
    OPTION_ID_LIST,  /* int64_t **, with count: repeatable, comma-separated ids */
    OPTION_INSTANT,  /* char **: "2026-03-29 09:00" (local) or "2026-03-29T09:00:00+02:00" */
    OPTION_DATE,     /* char **: "2026-03-29" */
    OPTION_CLOCK,    /* char **: "09:00" */
    OPTION_MONEY,    /* int64_t *: cents, from "60", "60.5" or "60.50" */
    OPTION_CHOICE,   /* int *: the index of the value in `choices` ("days|weeks") */
    OPTION_WEEKDAYS, /* uint32_t *: bit d (1 = Monday ... 7 = Sunday) for "mon-fri", "sat,sun", "1"
                      */
    OPTION_INT,      /* int32_t *: a whole number from .min to .max ("--pain-before 7") */
};

#define OPTION_REQUIRED   1u /* a usage error when missing */
#define OPTION_POSITIONAL 2u /* given by position, not by name ("cancel 42"); name is its label */
#define OPTION_DAY_OK     4u /* OPTION_INSTANT: a bare date ("2026-03-29") is taken too */
#define OPTION_DASH_NONE  8u /* OPTION_INT: "-" is taken too and stored as -1 ("not recorded") */

struct option {
    const char *name; /* "client" for --client; for a positional, its label ("ID") */
    enum option_kind kind;
    void *dest;
    const char *help;
    unsigned flags;
    const char *field;   /* the request field it sets, named in update masks; NULL: none */
    size_t *count;       /* OPTION_LIST, OPTION_ID_LIST: where the number of items goes */
    const char *choices; /* OPTION_CHOICE: "days|weeks" */
    const char *arg;     /* the value's name in --help; NULL: one chosen by kind */
    int min, max;        /* OPTION_INT: the range allowed */
    bool seen;           /* set by options_parse */
};

/* One table entry; more members by designator: OPT("to", OPTION_DATE, &to, "...", .flags = ...). */
#define OPT(opt_name, opt_kind, opt_dest, opt_help, ...)                                           \
    {                                                                                              \
        .name = (opt_name), .kind = (opt_kind), .dest = (opt_dest), .help = (opt_help),            \
        __VA_ARGS__                                                                                \
    }
/* Ends an option table. */
#define OPTIONS_END                                                                                \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* The paging options of every list: --all, --page-size, --page-token. */
#define OPTIONS_PAGING(all, page_size, page_token)                                                 \
    OPT("all", OPTION_FLAG, (all),                                                                 \
        "every page, not just the first (with --json: one reply holding all)"),                    \
        OPT("page-size", OPTION_UINT, (page_size), "results per page (default 50, at most 500)"),  \
        OPT("page-token", OPTION_STRING, (page_token),                                             \
            "start at this page (the next_page_token of an earlier reply)", .arg = "TOKEN")

/* Parses argv[1..argc) (argv[0] is the command's own word) against the table `opts` of the
 * command cli->command_path, and keeps opts as cli->options, so that errors from the daemon can
 * name the options rather than the request's fields. Returns true when the command should go on.
 * Otherwise it has printed the help (*exit_code = 0) or a usage error naming the option (*exit_code
 * = EXIT_USAGE).
 * "--name value", "--name=value" and "--" (only positionals after it) are understood; a
 * non-list option given twice is an error. Lists the parser allocated are freed by
 * options_free, which the caller must call whatever the result. */
bool options_parse(struct cli *cli, struct option *opts, int argc, char **argv, int *exit_code)
    __attribute__((warn_unused_result));

/* Frees the lists options_parse allocated (the destinations then dangle). */
void options_free(struct option *opts);

/* True when the option called name was given. */
bool options_given(const struct option *opts, const char *name);

/* Collects the `field` of every named option given into mask (at most max entries; positionals
 * name the record, not a change); returns the count. For update requests: only the fields the user
 * named change. */
size_t options_mask(const struct option *opts, char **mask, size_t max);

/* The name the user typed for the request field `field`: "--to" when the option "to" sets
 * end_local (its .field is "end_local"), "ID" for a positional. A dotted field
 * ("content.pain_before") is also looked up by its last part. False when no option sets it. */
bool options_label_for_field(const struct option *opts, const char *field, char *out, size_t len);

/* A field violation from the daemon, in the words of the command line: the field as the option
 * that sets it, followed by the description with the request fields it names replaced the same
 * way ("end_local" / "must be after start_local" -> "--to must be after --from"). A field no
 * option sets keeps its name: "location_id: is required". opts may be NULL (no table). */
void options_describe_violation(const struct option *opts, const char *field,
                                const char *description, char *out, size_t len);

/* Prints the generated help of cli->command_path to stdout. */
void options_print_help(const struct cli *cli, const struct option *opts);

#endif
