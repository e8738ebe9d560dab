/* cmd_report.c: `clinic report utilisation|attendance|clients|courses`: the clinic's numbers over
 * a period, as a terminal table, as JSON (--json) or as CSV (--csv, for a spreadsheet).
 *
 * Every report answers the same shape (reports.proto): a period, rows and a total. One generic
 * printer walks it by descriptor; each report only says its columns and how a row becomes
 * cells, so the table and the CSV can never disagree. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/reports.pb-c.h"
#include "cmd_admin.h"
#include "options.h"
#include "schedule.h"
#include "table.h"
#include "times.h"

#define REPORT_MAX_COLS 10
#define REPORT_CELL     128

typedef char report_cells[REPORT_MAX_COLS][REPORT_CELL];

struct report {
    const char *title; /* "Utilisation", before " at LOCATION, FIRST to LAST" */
    const char *method;
    const ProtobufCMessageDescriptor *reply;
    size_t ncols;
    const char *const *headers;
    void (*cells)(const ProtobufCMessage *row, report_cells out);
    const char *note; /* printed under the table: what the numbers mean */
};

/* ------------------------------------------------------------------ cells */

static void cell_i64(char *out, int64_t v)
{
    snprintf(out, REPORT_CELL, "%lld", (long long)v);
}

/* An id, or nothing for a total (an empty cell, which a spreadsheet reads as no value). */
static void cell_id(char *out, int64_t v)
{
    if (v)
        cell_i64(out, v);
}

static void cell_hours(char *out, int64_t minutes)
{
    snprintf(out, REPORT_CELL, "%.1f", (double)minutes / 60.0);
}

static void cell_percent(char *out, double fraction)
{
    snprintf(out, REPORT_CELL, "%.1f%%", fraction * 100.0);
}

/* Cents as "1234.50" ("-12.00" for a correction); the currency is a column of its own. */
static void cell_money(char *out, int64_t cents)
{
    long long c = cents < 0 ? -(long long)cents : (long long)cents;
    snprintf(out, REPORT_CELL, "%s%lld.%02lld", cents < 0 ? "-" : "", c / 100, c % 100);
}

static void cell_text(char *out, const char *s)
{
    snprintf(out, REPORT_CELL, "%s", s);
}

/* ------------------------------------------------------------------ the reports' rows */

static void utilisation_cells(const ProtobufCMessage *m, report_cells c)
{
    const Clinic__V1__UtilisationRow *r = (const Clinic__V1__UtilisationRow *)m;
    cell_text(c[0], r->kind);
    cell_id(c[1], r->id);
    cell_text(c[2], r->name);
    cell_hours(c[3], r->working_minutes);
    cell_hours(c[4], r->booked_minutes);
    cell_i64(c[5], r->sessions);
    cell_percent(c[6], r->utilisation);
}

static void attendance_cells(const ProtobufCMessage *m, report_cells c)
{
    const Clinic__V1__AttendanceRow *r = (const Clinic__V1__AttendanceRow *)m;
    cell_text(c[0], r->kind);
    cell_id(c[1], r->client_id);
    cell_text(c[2], r->client_name);
    cell_i64(c[3], r->due);
    cell_i64(c[4], r->attended);
    cell_i64(c[5], r->no_shows);
    cell_percent(c[6], r->no_show_rate);
    cell_i64(c[7], r->late_cancels);
    cell_percent(c[8], r->late_cancel_rate);
    cell_i64(c[9], r->unrecorded);
}

static void clients_cells(const ProtobufCMessage *m, report_cells c)
{
    const Clinic__V1__ClientsRow *r = (const Clinic__V1__ClientsRow *)m;
    cell_text(c[0], r->kind);
    cell_text(c[1], r->month);
    cell_i64(c[2], r->new_clients);
    cell_i64(c[3], r->returning_clients);
    cell_i64(c[4], r->attended_sessions);
}

static void courses_cells(const ProtobufCMessage *m, report_cells c)
{
    const Clinic__V1__CoursesRow *r = (const Clinic__V1__CoursesRow *)m;
    cell_text(c[0], r->kind);
    cell_id(c[1], r->service_id);
    cell_text(c[2], r->service_name);
    cell_i64(c[3], r->started);
    cell_i64(c[4], r->completed);
    cell_i64(c[5], r->ended_early);
    cell_i64(c[6], r->in_progress);
    cell_i64(c[7], r->sessions_attended);
    cell_percent(c[8], r->completion_rate);
}

static void revenue_cells(const ProtobufCMessage *m, report_cells c)
{
    const Clinic__V1__RevenueRow *r = (const Clinic__V1__RevenueRow *)m;
    cell_text(c[0], r->kind);
    cell_id(c[1], r->id);
    cell_text(c[2], r->name);
    cell_i64(c[3], r->receipts);
    cell_i64(c[4], r->sessions);
    cell_money(c[5], r->net_cents);
    cell_money(c[6], r->tax_cents);
    cell_money(c[7], r->gross_cents);
    cell_text(c[8], r->currency);
}

static const char *const utilisation_headers[] = {
    "KIND", "ID", "NAME", "WORKING_HOURS", "BOOKED_HOURS", "SESSIONS", "UTILISATION"};
static const char *const attendance_headers[] = {
    "KIND",         "ID",           "CLIENT",           "DUE",       "ATTENDED", "NO_SHOWS",
    "NO_SHOW_RATE", "LATE_CANCELS", "LATE_CANCEL_RATE", "UNRECORDED"};
static const char *const clients_headers[] = {"KIND", "MONTH", "NEW", "RETURNING",
                                              "ATTENDED_SESSIONS"};
static const char *const courses_headers[] = {
    "KIND",        "ID",          "SERVICE",           "STARTED",        "COMPLETED",
    "ENDED_EARLY", "IN_PROGRESS", "SESSIONS_ATTENDED", "COMPLETION_RATE"};

static const char *const revenue_headers[] = {"KIND", "ID",  "NAME",  "RECEIPTS", "SESSIONS",
                                              "NET",  "TAX", "GROSS", "CURRENCY"};

static const struct report utilisation_report = {
    "Utilisation",
    "/clinic.v1.Reports/Utilisation",
    &clinic__v1__utilisation_report__descriptor,
    7,
    utilisation_headers,
    utilisation_cells,
    "Booked: sessions that held the time (no-shows too). A therapist works their hours less time\n"
    "off and closures; a room is open while anyone works. The total is over the therapists."};
static const struct report attendance_report = {
    "Attendance",
    "/clinic.v1.Reports/Attendance",
    &clinic__v1__attendance_report__descriptor,
    10,
    attendance_headers,
    attendance_cells,
    "Due: appointments started before now, unless cancelled in time. Listed: the clients who\n"
    "missed at least once; unrecorded ones are past but neither checked in nor a no-show."};
static const struct report clients_report = {
    "New and returning clients",
    "/clinic.v1.Reports/Clients",
    &clinic__v1__clients_report__descriptor,
    5,
    clients_headers,
    clients_cells,
    "New: the client's first attended session at the location was that month (in the period,\n"
    "for the total); returning: it was earlier."};
static const struct report courses_report = {
    "Courses",
    "/clinic.v1.Reports/Courses",
    &clinic__v1__courses_report__descriptor,
    9,
    courses_headers,
    courses_cells,
    "Completed: every session attended; ended early: one cancelled or missed, none to come.\n"
    "Both count where their last session falls; in progress: one still to come at the end."};

static const struct report revenue_report = {
    "Revenue",
    "/clinic.v1.Reports/Revenue",
    &clinic__v1__revenue_report__descriptor,
    9,
    revenue_headers,
    revenue_cells,
    "Money taken: receipts issued in the period, corrections (voided receipts) negative. A\n"
    "package counts when sold (\"package sales\"); its sessions draw 0 later. Fees count with the\n"
    "missed session's therapist."};

/* ------------------------------------------------------------------ printing */

/* One CSV field by RFC 4180: quoted when it holds a comma, a quote or a line break, quotes
 * doubled. Text that a spreadsheet would run as a formula (=, +, -, @ first) is given a leading
 * apostrophe, as OWASP advises against CSV injection: a client's name is typed by the client. */
static void csv_field(FILE *out, const char *s, bool first)
{
    if (!first)
        fputc(',', out);
    bool formula = strchr("=+-@", s[0]) && s[0] && !(s[0] == '-' && s[1] >= '0' && s[1] <= '9');
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_row(FILE *out, size_t ncols, const char *const *cells)
{
    for (size_t i = 0; i < ncols; i++)
        csv_field(out, cells[i], i == 0);
    fputs("\r\n", out);
}

/* The report's rows, then its total, each as cells. */
static void each_row(const struct report *rep, const ProtobufCMessage *resp,
                     void (*emit)(void *sink, size_t ncols, const char *const *cells), void *sink)
{
    const ProtobufCFieldDescriptor *rows_f =
        protobuf_c_message_descriptor_get_field_by_name(resp->descriptor, "rows");
    const ProtobufCFieldDescriptor *total_f =
        protobuf_c_message_descriptor_get_field_by_name(resp->descriptor, "total");
    size_t n = *(const size_t *)((const char *)resp + rows_f->quantifier_offset);
    ProtobufCMessage *const *rows =
        *(ProtobufCMessage *const *const *)((const char *)resp + rows_f->offset);
    const ProtobufCMessage *total =
        *(const ProtobufCMessage *const *)((const char *)resp + total_f->offset);
    report_cells cells;
    const char *ptrs[REPORT_MAX_COLS];
    for (size_t i = 0; i < REPORT_MAX_COLS; i++)
        ptrs[i] = cells[i];
    for (size_t i = 0; i <= n; i++) {
        const ProtobufCMessage *row = i < n ? rows[i] : total;
        if (!row)
            continue;
        memset(cells, 0, sizeof cells);
        rep->cells(row, cells);
        emit(sink, rep->ncols, ptrs);
    }
}

static void emit_csv(void *sink, size_t ncols, const char *const *cells)
{
    csv_row(sink, ncols, cells);
}

static void emit_table(void *sink, size_t ncols, const char *const *cells)
{
    (void)ncols;
    table_add_row(sink, cells);
}

static void print_report(const struct report *rep, const ProtobufCMessage *resp, bool csv)
{
    if (csv) {
        csv_row(stdout, rep->ncols, rep->headers);
        each_row(rep, resp, emit_csv, stdout);
        return;
    }
    const ProtobufCFieldDescriptor *pf =
        protobuf_c_message_descriptor_get_field_by_name(resp->descriptor, "period");
    const Clinic__V1__ReportPeriod *p =
        *(const Clinic__V1__ReportPeriod *const *)((const char *)resp + pf->offset);
    if (p)
        printf("%s at %s, %s to %s (%s)\n\n", rep->title, p->location_name, p->first_day,
               p->last_day, p->time_zone);
    struct table *t = table_new(rep->ncols, rep->headers);
    if (!t) {
        fprintf(stderr, "clinic: out of memory\n");
        return;
    }
    table_keep_column(t, 0);
    each_row(rep, resp, emit_table, t);
    table_print_free(t, stdout);
    printf("\n%s\n", rep->note);
}

/* ------------------------------------------------------------------ the command */

static int run_report(struct cli *cli, int argc, char **argv, const struct report *rep)
{
    Clinic__V1__ReportRequest req = CLINIC__V1__REPORT_REQUEST__INIT;
    bool csv = false, json = false;
    struct option opts[] = {
        OPT("location", OPTION_ID, &req.location_id, "whose numbers (default: the only location)",
            .field = "location_id"),
        OPT("from", OPTION_DATE, &req.first_day,
            "the first day, included (default: the first of this month)", .field = "first_day"),
        OPT("to", OPTION_DATE, &req.last_day, "the last day, included (default: today)",
            .field = "last_day"),
        OPT("csv", OPTION_FLAG, &csv, "print CSV (RFC 4180) for a spreadsheet"),
        OPT("json", OPTION_FLAG, &json, "print the reply as JSON (as clinic --json does)"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if (csv && (json || cli->json)) {
        options_free(opts);
        return cli_usage_error(cli, "choose one of --csv and --json");
    }
    cli->json = cli->json || json;
    Clinic__V1__Location *location = NULL;
    if ((code = schedule_location(cli, &req.location_id, &location)) != 0) {
        options_free(opts);
        return code;
    }
    /* the defaults are the location's days, not this machine's */
    char today[11], first[11];
    if (!times_today(location ? location->time_zone : "UTC", today))
        fprintf(stderr, "clinic: no time-zone data for %s here; \"today\" is UTC's\n",
                location ? location->time_zone : "UTC");
    snprintf(first, sizeof first, "%.8s01", today);
    if (!req.last_day || !*req.last_day)
        req.last_day = today;
    if (!req.first_day || !*req.first_day)
        req.first_day = strcmp(first, req.last_day) <= 0 ? first : req.last_day;
    if (location)
        protobuf_c_message_free_unpacked(&location->base, NULL);

    ProtobufCMessage *resp;
    code = cli_call(cli, rep->method, &req.base, rep->reply, &resp);
    if (code == 0) {
        if (cli->json)
            cli_print_json(resp);
        else
            print_report(rep, resp, csv);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    options_free(opts);
    return code;
}

static int report_utilisation(struct cli *cli, int argc, char **argv)
{
    return run_report(cli, argc, argv, &utilisation_report);
}

static int report_attendance(struct cli *cli, int argc, char **argv)
{
    return run_report(cli, argc, argv, &attendance_report);
}

static int report_clients(struct cli *cli, int argc, char **argv)
{
    return run_report(cli, argc, argv, &clients_report);
}

static int report_courses(struct cli *cli, int argc, char **argv)
{
    return run_report(cli, argc, argv, &courses_report);
}

static int report_revenue(struct cli *cli, int argc, char **argv)
{
    return run_report(cli, argc, argv, &revenue_report);
}

const struct command report_commands[] = {
    {.name = "utilisation",
     .run = report_utilisation,
     .summary = "booked hours over working hours, per therapist and room",
     .details = "Example, a year as CSV for a spreadsheet:\n"
                "  clinic report utilisation --from 2026-01-01 --to 2026-12-31 --csv > year.csv"},
    VERB("attendance", report_attendance,
         "no-show and late-cancel rates, per client who missed and overall"),
    VERB("clients", report_clients, "new and returning clients, month by month"),
    VERB("courses", report_courses,
         "courses of sessions started, completed, ended early and in progress"),
    VERB("revenue", report_revenue, "money taken, per therapist and per service"),
    COMMANDS_END,
};
