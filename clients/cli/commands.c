/* commands.c: the table of `clinic` commands. Adding a command is a function and one line here;
 * commands without hand-written `usage` generate their --help from their option table
 * (options.c). */
#include "cli.h"

int cmd_health(struct cli *cli, int argc, char **argv);
int cmd_methods(struct cli *cli, int argc, char **argv);
int cmd_watch(struct cli *cli, int argc, char **argv);
int cmd_slots(struct cli *cli, int argc, char **argv);
int cmd_book(struct cli *cli, int argc, char **argv);
int cmd_book_course(struct cli *cli, int argc, char **argv);
int cmd_reschedule(struct cli *cli, int argc, char **argv);
int cmd_cancel(struct cli *cli, int argc, char **argv);
int cmd_check_in(struct cli *cli, int argc, char **argv);
int cmd_complete(struct cli *cli, int argc, char **argv);
int cmd_no_show(struct cli *cli, int argc, char **argv);
int cmd_undo(struct cli *cli, int argc, char **argv);
int cmd_record(struct cli *cli, int argc, char **argv);
int cmd_appointment(struct cli *cli, int argc, char **argv);
int cmd_day(struct cli *cli, int argc, char **argv);
int cmd_agenda(struct cli *cli, int argc, char **argv);
int cmd_client_appointments(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_logout(struct cli *cli, int argc, char **argv);
int cmd_whoami(struct cli *cli, int argc, char **argv);
int cmd_change_password(struct cli *cli, int argc, char **argv);
int cmd_progress(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_calendar_link(struct cli *cli, int argc, char **argv);
extern const struct command note_commands[];
extern const struct command intake_commands[];
extern const struct command consent_commands[];
extern const struct command waitlist_commands[];
extern const struct command package_commands[];
extern const struct command charge_commands[];
extern const struct command receipt_commands[];
extern const struct command measure_commands[];
extern const struct command report_commands[];
extern const struct command course_commands[];
extern const struct command admin_entities[];
extern const struct command demo_commands[];

#define COMMAND(command_name, fn, text)                                                            \
    {                                                                                              \
        .name = (command_name), .run = (fn), .summary = (text)                                     \
    }

const struct command cli_commands[] = {
    {.name = "login",
     .run = cmd_login,
     .summary = "log in: asks for the password and keeps the token in the token file",
     .details =
         "The token file is $XDG_CONFIG_HOME/clinic/token, or ~/.config/clinic/token\n"
         "(mode 0600, folder 0700). When stdin is not a terminal, give --email and pass the\n"
         "password as one line on stdin:\n"
         "  clinic login --email anna@example.org < password.txt\n"
         "Every later command sends --token, else CLINIC_TOKEN, else the token file's "
         "token.\nA token file that others may read is ignored with a "
         "warning (as ssh ignores such keys)."},
    {.name = "logout",
     .run = cmd_logout,
     .summary = "revoke the token and remove the token file",
     .details = "The token file is removed only when the token came from it, and kept when the "
                "daemon could not be reached (so that the token can still be revoked).\nA token "
                "that had expired or was revoked already counts as logged out (exit 0)."},
    COMMAND("whoami", cmd_whoami, "who the token belongs to, and until when it is valid"),
    {.name = "change-password",
     .run = cmd_change_password,
     .summary = "change your password (your other tokens are revoked)",
     .details = "Asks for the current password, then twice for the new one. Without a terminal, "
                "reads both from stdin,\none line each."},
    COMMAND("slots", cmd_slots, "free times for a service at a location"),
    {.name = "book",
     .run = cmd_book,
     .summary = "book an appointment",
     .details = "Example: clinic book --client 7 --service 2 --start \"2026-03-30 09:00\""},
    {.name = "book-course",
     .run = cmd_book_course,
     .summary = "book a course of sessions at the same time of day, with one therapist: all of "
                "them, or none",
     .details = "Without --therapist, one therapist free at every session is chosen and kept.\n"
                "With --skip-blocked, the free sessions are booked and the blocked ones listed "
                "with why.\nExample, six weekly sessions:\n"
                "  clinic book-course --client 7 --service 2 --start \"2026-03-30 09:00\" "
                "--count 6"},
    {.name = "course",
     .summary = "a course of sessions: show it, cancel what is left of it",
     .subcommands = course_commands,
     .details = "A course is booked with `clinic book-course`, which prints its id."},
    COMMAND("reschedule", cmd_reschedule, "move an appointment to another time"),
    COMMAND("cancel", cmd_cancel, "cancel an appointment (late inside the cancellation window)"),
    COMMAND("check-in", cmd_check_in, "the client has arrived (on the appointment's day)"),
    COMMAND("complete", cmd_complete, "the session took place (once it has started)"),
    COMMAND("no-show", cmd_no_show, "the client did not come (once the appointment has started)"),
    {.name = "undo",
     .run = cmd_undo,
     .summary = "take back a check-in, completion or no-show on the day: booked again",
     .details = "Example: clinic undo 11 --reason \"checked in the wrong client\""},
    {.name = "record",
     .run = cmd_record,
     .summary = "record a session that happened without a booking: completed at once",
     .details = "For a walk-in or a session nobody booked beforehand, over and at most 31 days "
                "ago;\nworking hours are not required. A therapist records their own sessions "
                "(--therapist\ndefaults to you). Example:\n"
                "  clinic record --client 7 --service 2 --start \"2026-03-30 18:30\" "
                "--reason \"walk-in\""},
    COMMAND("appointment", cmd_appointment, "show one appointment"),
    {.name = "day",
     .run = cmd_day,
     .summary = "a location's day: each therapist's appointments and free time",
     .details = "Times are the location's. --json prints the day sheet as the daemon sends it."},
    COMMAND("agenda", cmd_agenda,
            "a therapist's appointments over some days (a therapist's own by default)"),
    COMMAND("client-appointments", cmd_client_appointments,
            "a client's appointments (a client's own by default)"),
    {.name = "waitlist",
     .summary = "clients waiting for a taken time: add, list, remove; accept or decline an offer",
     .subcommands = waitlist_commands,
     .details = "A time that frees is offered to the first client waiting for it, held for them\n"
                "until a deadline; `clinic appointment ID` shows an offer's deadline."},
    {.name = "package",
     .summary = "prepaid packages of sessions: sell, show, list",
     .subcommands = package_commands},
    {.name = "charge",
     .summary = "what clients owe (sessions, late-cancellation and no-show fees): list, pay",
     .subcommands = charge_commands},
    {.name = "receipt",
     .summary = "receipts of what was paid: show (text or --html), list, void",
     .subcommands = receipt_commands,
     .details = "Receipts are numbered 1, 2, 3, ... per location without a gap and never change;\n"
                "a mistake is put right by voiding the receipt, which issues a correction."},
    {.name = "calendar-link",
     .run = cmd_calendar_link,
     .summary = "a new link to a calendar feed of appointments, for a phone's calendar app",
     .details = "Without --client or --therapist: your own feed (a client's or a therapist's).\n"
                "Each run makes a new link and the one before stops working (only its hash is\n"
                "kept). A therapist's feed shows the service and the client's initials only.\n"
                "Example: clinic calendar-link --gateway https://book.clinic.example"},
    {.name = "intake",
     .summary = "a client's health history: record a new version, show it, or its status",
     .subcommands = intake_commands,
     .details = "Admins, the client and therapists of the client's care read it; the front desk\n"
                "records it and sees only its status. A red flag or contraindication needs the\n"
                "therapist's decision (clinic note decide) before the session's note is signed."},
    {.name = "consent",
     .summary = "a client's consents: give, withdraw, list",
     .subcommands = consent_commands,
     .details = "General consent is needed to check in; written consent for chest wall, breast,\n"
                "gluteal and inner-thigh work is needed to sign a note naming those areas."},
    {.name = "note",
     .summary = "treatment notes: draft, edit, sign, amend, show, list",
     .subcommands = note_commands,
     .details = "A draft is editable by its author; sign freezes it for ever, and corrections "
                "are then amendments."},
    {.name = "measure",
     .summary = "questionnaires: RMDQ, PSFS, STarT Back; record one, list a client's",
     .subcommands = measure_commands,
     .details = "The daemon scores them and marks clinically important change (Ostelo et al. "
                "2008;\nSTarT Back: Hill et al. 2008). Never the front desk's: clinical data."},
    {.name = "report",
     .summary = "the clinic's numbers over a period: utilisation, attendance, clients, courses, "
                "revenue",
     .subcommands = report_commands,
     .details = "For the front desk and the owner. Days are the location's local days, --from\n"
                "and --to both included; --csv prints RFC 4180 CSV, --json the reply."},
    {.name = "progress",
     .run = cmd_progress,
     .summary = "a client's course of care: pain, ODI and every questionnaire over time, in a "
                "table or an SVG chart",
     .details = "MCID marks a change from the first that reaches the minimal clinically important\n"
                "difference (pain: a drop of 2 points or 30 %; ODI: 10 points or 30 %; RMDQ: 5\n"
                "points or 30 %; PSFS: a rise of 2 in the mean). The chart's x axis is in real "
                "days.\nExample: clinic progress 7 --svg course.svg"},
    {.name = "audit",
     .run = cmd_audit,
     .summary = "the audit trail: who did what, newest first (admins)",
     .details = "Times without an offset are UTC. Example:\n  clinic audit --method Notes/ "
                "--since 2026-11-01 --all"},
    {.name = "admin",
     .summary = "set up the clinic",
     .subcommands = admin_entities,
     .details = "Lists show the first page; --all reads every page (with --json: one reply "
                "holding every page's items).\nupdate changes only the fields whose options "
                "are given: clinic admin location update 3 --slot-step 30"},
    {.name = "demo", .summary = "a demo clinic to try things on", .subcommands = demo_commands},
    {.name = "health",
     .run = cmd_health,
     .summary = "check that clinicd is serving (exit 0 when SERVING, 1 when not)",
     .usage = "health"},
    {.name = "methods",
     .run = cmd_methods,
     .summary = "list every method the daemon serves",
     .usage = "methods"},
    {.name = "watch",
     .run = cmd_watch,
     .summary = "print appointment changes as they happen, missing none",
     .usage = "watch [--events URL] [--after SEQ] [--topic PREFIX] [--count N]\n\n"
              "  --events URL   the daemon's event socket (env CLINIC_EVENTS); default: the\n"
              "                 URL the daemon reports, at the host of --url\n"
              "  --after SEQ    start after this sequence number (resume); default: from now\n"
              "  --topic P      only topics starting with P (default appointment.)\n"
              "  --count N      stop after N events\n\n"
              "When the event socket cannot be reached, the watch says so on stderr and asks\n"
              "the daemon for changes every 3 s instead."},
    COMMANDS_END,
};
