/* cmd_billing.c: `clinic package sell|show|list`, `clinic charge list|pay` and `clinic receipt
 * show|list|void`: prepaid packages of sessions, what clients owe, and the receipts of what was
 * paid, printable as text or as one self-contained HTML page (every field escaped). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/billing.pb-c.h"
#include "cmd_admin.h"
#include "options.h"
#include "schedule.h"

#define PAID_BY_ARG "cash|card|transfer|voucher"

/* "EUR 12.50" (negative: "EUR -12.50") into out. */
static const char *money(const char *currency, int64_t cents, char *out, size_t len)
{
    unsigned long long abs_cents =
        cents < 0 ? (unsigned long long)(-(cents + 1)) + 1 : (unsigned long long)cents;
    snprintf(out, len, "%s%s%s%llu.%02llu", currency, *currency ? " " : "", cents < 0 ? "-" : "",
             abs_cents / 100, abs_cents % 100);
    return out;
}

/* "19.00 %" of basis points. */
static const char *rate(uint32_t bp, char *out, size_t len)
{
    snprintf(out, len, "%u.%02u %%", bp / 100, bp % 100);
    return out;
}

static const char *kind_words(const char *kind)
{
    if (strcmp(kind, "late_cancel") == 0)
        return "late cancellation";
    if (strcmp(kind, "no_show") == 0)
        return "no-show";
    return kind;
}

/* ------------------------------------------------------------------ packages */

static void print_package(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Package *p = (const Clinic__V1__Package *)m;
    char price[48];
    admin_heading(done, "package", p->id, p->service_name);
    admin_line("client", "%s (client %lld)", p->client_name, (long long)p->client_id);
    admin_line("sessions", "%u of %u left (%u used)", p->remaining, p->sessions, p->used);
    admin_line("price", "%s", money(p->currency, p->price_cents, price, sizeof price));
    admin_line("sold", "%s (receipt %lld)", p->sold_at, (long long)p->receipt_number);
    admin_line("valid through", "%s", p->expires_on);
    admin_line("state", "%s", p->state);
    for (size_t i = 0; i < p->n_draws; i++) {
        const Clinic__V1__PackageDraw *d = p->draws[i];
        if (strcmp(d->kind, "returned") == 0)
            admin_line(i == 0 ? "history" : "", "%s  appointment %lld: given back (%s)",
                       d->drawn_at, (long long)d->appointment_id, d->reason);
        else
            admin_line(i == 0 ? "history" : "", "%s  appointment %lld (%s): %s, %u of %u",
                       d->drawn_at, (long long)d->appointment_id, d->session_start,
                       kind_words(d->kind), d->number, p->sessions);
    }
}

static void package_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Package *p = (const Clinic__V1__Package *)m;
    char id[24], left[32], price[48];
    snprintf(id, sizeof id, "%lld", (long long)p->id);
    snprintf(left, sizeof left, "%u of %u", p->remaining, p->sessions);
    const char *row[] = {id,
                         p->client_name,
                         p->service_name,
                         left,
                         p->expires_on,
                         p->state,
                         money(p->currency, p->price_cents, price, sizeof price)};
    table_add_row(t, row);
}

static int package_sell(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__SellPackageRequest req = CLINIC__V1__SELL_PACKAGE_REQUEST__INIT;
    req.valid_months = 12;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "who buys it", .flags = OPTION_REQUIRED,
            .field = "client_id"),
        OPT("service", OPTION_ID, &req.service_id, "the service its sessions are of",
            .flags = OPTION_REQUIRED, .field = "service_id"),
        OPT("sessions", OPTION_UINT, &req.sessions, "how many sessions (1 to 100)",
            .flags = OPTION_REQUIRED, .field = "sessions", .arg = "N"),
        OPT("price", OPTION_MONEY, &req.price_cents, "the whole package, tax included, e.g. 550",
            .flags = OPTION_REQUIRED, .field = "price_cents"),
        OPT("months", OPTION_UINT, &req.valid_months, "valid this many months (default 12)",
            .field = "valid_months", .arg = "N"),
        OPT("paid-by", OPTION_STRING, &req.paid_by, "how it was paid", .flags = OPTION_REQUIRED,
            .field = "paid_by", .arg = PAID_BY_ARG),
        OPT("location", OPTION_ID, &req.location_id, "where it is sold (default: the only one)",
            .field = "location_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if ((code = schedule_location(cli, &req.location_id, NULL)) != 0) {
        options_free(opts);
        return code;
    }
    return admin_call(cli, opts, "/clinic.v1.Packages/SellPackage", &req.base,
                      &clinic__v1__package__descriptor, print_package, "Sold");
}

static int package_show(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__get_package_request__descriptor,
                       "/clinic.v1.Packages/GetPackage", &clinic__v1__package__descriptor,
                       print_package, NULL, "the package");
}

static int package_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID",          "CLIENT", "SERVICE", "LEFT",
                                          "VALID UNTIL", "STATE",  "PRICE"};
    Clinic__V1__ListPackagesRequest req = CLINIC__V1__LIST_PACKAGES_REQUEST__INIT;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "one client's (a client: their own)",
            .field = "client_id"),
        OPT("all", OPTION_FLAG, &req.include_closed, "used up, expired and void ones too"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Packages/ListPackages", &req.base,
                           &clinic__v1__list_packages_response__descriptor, 7, headers,
                           package_row);
}

const struct command package_commands[] = {
    {.name = "sell",
     .run = package_sell,
     .summary = "sell a client a prepaid package of sessions of one service; issues its receipt",
     .details = "A completed session of that service draws one from the client's package that\n"
                "expires first (a late cancellation or no-show too when the location says so:\n"
                "clinic admin location update ID --package-draw-no-show on). Example:\n"
                "  clinic package sell --client 7 --service 2 --sessions 10 --price 550 "
                "--paid-by card"},
    VERB("show", package_show, "a package: what is left, until when, and each session drawn"),
    VERB("list", package_list, "packages in use, the next drawn from first (a client: their own)"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ charges */

static void print_receipt(const ProtobufCMessage *m, const char *done);

static void charge_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Charge *c = (const Clinic__V1__Charge *)m;
    char id[24], appt[24], amount[48], status[48];
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    snprintf(appt, sizeof appt, "%lld", (long long)c->appointment_id);
    if (strcmp(c->status, "paid") == 0)
        snprintf(status, sizeof status, "paid (receipt %lld)", (long long)c->receipt_number);
    else
        snprintf(status, sizeof status, "%s", c->status);
    const char *row[] = {id,
                         c->client_name,
                         kind_words(c->kind),
                         c->service_name,
                         appt,
                         c->session_start,
                         money(c->currency, c->amount_cents, amount, sizeof amount),
                         status};
    table_add_row(t, row);
}

static int charge_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID",          "CLIENT",  "FOR",    "SERVICE",
                                          "APPOINTMENT", "SESSION", "AMOUNT", "STATUS"};
    Clinic__V1__ListChargesRequest req = CLINIC__V1__LIST_CHARGES_REQUEST__INIT;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "one client's (a client: their own)",
            .field = "client_id"),
        OPT("location", OPTION_ID, &req.location_id, "one location's (default: every one)",
            .field = "location_id"),
        OPT("all", OPTION_FLAG, &req.include_closed, "paid and cancelled ones too"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Billing/ListCharges", &req.base,
                           &clinic__v1__list_charges_response__descriptor, 8, headers, charge_row);
}

static int charge_pay(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__PayChargeRequest req = CLINIC__V1__PAY_CHARGE_REQUEST__INIT;
    struct option opts[] = {
        ID_ARG(&req.id, "the charge"),
        OPT("paid-by", OPTION_STRING, &req.paid_by, "how it was paid", .flags = OPTION_REQUIRED,
            .field = "paid_by", .arg = PAID_BY_ARG),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_call(cli, opts, "/clinic.v1.Billing/PayCharge", &req.base,
                      &clinic__v1__receipt__descriptor, print_receipt, "Paid: issued");
}

const struct command charge_commands[] = {
    {.name = "list",
     .run = charge_list,
     .summary = "what clients owe: sessions no package paid, late-cancellation and no-show fees",
     .details = "Open charges by default; --all shows paid and cancelled ones too."},
    {.name = "pay",
     .run = charge_pay,
     .summary = "record how a charge was paid; issues its receipt",
     .details = "Example:\n  clinic charge pay 12 --paid-by card"},
    COMMANDS_END,
};

/* ------------------------------------------------------------------ receipts */

static bool want_html; /* `receipt show --html`: print_receipt writes a page */

/* Writes s with &, <, >, " and ' as character references. */
static void html_text(const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", stdout);
            break;
        case '<':
            fputs("&lt;", stdout);
            break;
        case '>':
            fputs("&gt;", stdout);
            break;
        case '"':
            fputs("&quot;", stdout);
            break;
        case '\'':
            fputs("&#39;", stdout);
            break;
        default:
            putchar(*s);
        }
    }
}

/* One row of the HTML receipt's table: label and value, both escaped; the total stands out. */
static void html_row(const char *label, const char *value)
{
    fputs(strcmp(label, "total") == 0 ? "<tr class=\"total\"><th>" : "<tr><th>", stdout);
    html_text(label);
    fputs("</th><td>", stdout);
    html_text(value);
    fputs("</td></tr>\n", stdout);
}

/* The lines of a receipt, label and value, in the order both forms print them; a NULL value is
 * skipped. */
struct receipt_lines {
    const char *label[24];
    const char *value[24];
    char buf[24][160];
    size_t n;
};

static void add_line(struct receipt_lines *l, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_line(struct receipt_lines *l, const char *label, const char *fmt, ...)
{
    if (l->n >= sizeof l->label / sizeof l->label[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->buf[l->n], sizeof l->buf[l->n], fmt, ap);
    va_end(ap);
    l->label[l->n] = label;
    l->value[l->n] = l->buf[l->n];
    l->n++;
}

static void receipt_lines(const Clinic__V1__Receipt *r, struct receipt_lines *l)
{
    char a[48], b[48];
    l->n = 0;
    add_line(l, "issued", "%s", r->issued_at);
    add_line(l, "client", "%s (client %lld)", r->client_name, (long long)r->client_id);
    if (r->therapist_id)
        add_line(l, "therapist", "%s", r->therapist_name);
    add_line(l, "service", "%s", r->service_name);
    if (r->session_start[0])
        add_line(l, "session", "%s (appointment %lld)", r->session_start,
                 (long long)r->appointment_id);
    add_line(l, "for", "%s", r->description);
    add_line(l, "price", "%s", money(r->currency, r->price_cents, a, sizeof a));
    if (r->package_draw)
        add_line(l, "paid from", "package %lld, session %u of %u: %s due", (long long)r->package_id,
                 r->package_draw, r->package_sessions, money(r->currency, 0, b, sizeof b));
    add_line(l, "tax rate", "%s", rate(r->tax_rate_bp, a, sizeof a));
    add_line(l, "net", "%s", money(r->currency, r->net_cents, a, sizeof a));
    add_line(l, "tax", "%s", money(r->currency, r->tax_cents, a, sizeof a));
    add_line(l, "total", "%s", money(r->currency, r->gross_cents, a, sizeof a));
    add_line(l, "paid by", "%s", r->paid_by);
    if (r->corrects_number)
        add_line(l, "voids", "receipt %lld", (long long)r->corrects_number);
    if (r->reason[0])
        add_line(l, "reason", "%s", r->reason);
    if (r->corrected_by_number)
        add_line(l, "voided by", "receipt %lld", (long long)r->corrected_by_number);
}

static void print_receipt_html(const Clinic__V1__Receipt *r, const struct receipt_lines *l)
{
    char title[96];
    snprintf(title, sizeof title, "%s %lld", r->corrects_number ? "Correction receipt" : "Receipt",
             (long long)r->number);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", stdout);
    html_text(title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;max-width:40em;margin:2em auto;color:#111}\n"
          "h1{font-size:1.4em;margin-bottom:0}\n.seller{margin:0 0 1.5em;color:#444}\n"
          "table{border-collapse:collapse;width:100%}\n"
          "th{text-align:left;font-weight:normal;color:#555;padding:.3em 1em .3em 0;"
          "vertical-align:top;width:9em}\n"
          "td{padding:.3em 0}\ntr.total td{font-weight:bold}\n"
          "@media print{body{margin:0}}\n</style>\n</head>\n<body>\n<h1>",
          stdout);
    html_text(title);
    fputs("</h1>\n<p class=\"seller\">", stdout);
    html_text(r->location_name);
    if (r->location_address[0]) {
        fputs("<br>", stdout);
        html_text(r->location_address);
    }
    fputs("</p>\n<table>\n", stdout);
    for (size_t i = 0; i < l->n; i++)
        html_row(l->label[i], l->value[i]);
    fputs("</table>\n</body>\n</html>\n", stdout);
}

static void print_receipt(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Receipt *r = (const Clinic__V1__Receipt *)m;
    struct receipt_lines l;
    receipt_lines(r, &l);
    if (want_html) {
        print_receipt_html(r, &l);
        return;
    }
    admin_heading(done, r->corrects_number ? "correction receipt" : "receipt", r->number,
                  r->location_name);
    if (r->location_address[0])
        admin_line("", "%s", r->location_address);
    for (size_t i = 0; i < l.n; i++)
        admin_line(l.label[i], "%s", l.value[i]);
}

static void receipt_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Receipt *r = (const Clinic__V1__Receipt *)m;
    char number[24], total[48], state[48];
    snprintf(number, sizeof number, "%lld", (long long)r->number);
    if (r->corrected_by_number)
        snprintf(state, sizeof state, "voided by %lld", (long long)r->corrected_by_number);
    else if (r->corrects_number)
        snprintf(state, sizeof state, "voids %lld", (long long)r->corrects_number);
    else
        snprintf(state, sizeof state, "-");
    const char *row[] = {number,
                         r->issued_at,
                         r->kind,
                         r->client_name,
                         r->therapist_id ? r->therapist_name : "-",
                         r->service_name,
                         money(r->currency, r->gross_cents, total, sizeof total),
                         r->paid_by,
                         state};
    table_add_row(t, row);
}

static int receipt_show(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__GetReceiptRequest req = CLINIC__V1__GET_RECEIPT_REQUEST__INIT;
    struct option opts[] = {
        OPT("NUMBER", OPTION_ID, &req.number, "the receipt's number",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "number"),
        OPT("location", OPTION_ID, &req.location_id,
            "the location that issued it (needed when several have that number)",
            .field = "location_id"),
        OPT("html", OPTION_FLAG, &want_html, "a self-contained HTML page, to print or keep"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_call(cli, opts, "/clinic.v1.Billing/GetReceipt", &req.base,
                      &clinic__v1__receipt__descriptor, print_receipt, NULL);
}

static int receipt_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"NUMBER",  "ISSUED", "KIND",    "CLIENT", "THERAPIST",
                                          "SERVICE", "TOTAL",  "PAID BY", "STATE"};
    Clinic__V1__ListReceiptsRequest req = CLINIC__V1__LIST_RECEIPTS_REQUEST__INIT;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "one client's", .field = "client_id"),
        OPT("location", OPTION_ID, &req.location_id, "one location's (default: every one)",
            .field = "location_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Billing/ListReceipts", &req.base,
                           &clinic__v1__list_receipts_response__descriptor, 9, headers,
                           receipt_row);
}

static int receipt_void(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__VoidReceiptRequest req = CLINIC__V1__VOID_RECEIPT_REQUEST__INIT;
    struct option opts[] = {
        OPT("NUMBER", OPTION_ID, &req.number, "the receipt's number",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "number"),
        OPT("reason", OPTION_STRING, &req.reason, "why it is voided", .flags = OPTION_REQUIRED,
            .field = "reason"),
        OPT("location", OPTION_ID, &req.location_id,
            "the location that issued it (needed when several have that number)",
            .field = "location_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_call(cli, opts, "/clinic.v1.Billing/VoidReceipt", &req.base,
                      &clinic__v1__receipt__descriptor, print_receipt, "Voided: issued");
}

const struct command receipt_commands[] = {
    {.name = "show",
     .run = receipt_show,
     .summary = "a receipt as text, or as a self-contained HTML page (--html)",
     .details = "Example:\n  clinic receipt show 42 --html > receipt-42.html"},
    VERB("list", receipt_list, "receipts, newest first (a client: their own)"),
    {.name = "void",
     .run = receipt_void,
     .summary = "void a receipt: issues a correction that cancels it, and takes back what it "
                "stood for",
     .details = "An issued receipt never changes. Voiding one issues a correction (the next\n"
                "number, the amounts negated); a paid charge is open again, a package sale is\n"
                "void (only while no session was drawn), a session drawn from a package is given\n"
                "back and charged instead. Example:\n"
                "  clinic receipt void 42 --reason \"paid by card, not cash\""},
    COMMANDS_END,
};
