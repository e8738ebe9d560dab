/* Reads off the primary (--read-database): on a pg_auto_failover formation (scripts/ha.sh), a
 * daemon that may read a standby far behind answers the day sheet from it, so a booking made
 * while the standby's replay is paused is not on the sheet yet, while a daemon that allows no
 * lag answers from the primary and shows it; once replay resumes the first catches up. Bookings
 * always go to the primary. A read database that cannot be reached sends reads back to the
 * primary. Reflection says which methods may read from a standby. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clinic/v1/reflection.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

#define ZONE "Europe/Berlin"

static char ha_dir[64] = "/tmp/clinic-ha-XXXXXX", log_dir[64] = "/tmp/clinic-ha-logs-XXXXXX";
static char url[512], standby_url[512], unreachable_url[128];
/* lagging: may read a standby up to an hour behind; fresh: none behind; cut off: its read
 * database does not answer */
static struct harness_daemon lagging, fresh, cut_off;
static struct harness_clinic clinic;
static char day[11];

/* scripts/ha.sh on this test's formation. */
static int ha(const char *command, char *out, size_t len)
{
    return harness_ha(ha_dir, command, out, len);
}

static bool start(struct harness_daemon *d, const char *read_url, const char *max_lag_ms)
{
    const char *const args[] = {"--read-database", read_url, "--read-max-lag-ms", max_lag_ms, NULL};
    return harness_daemon_start(d, log_dir, url, args, true);
}

static int setup(void **state)
{
    (void)state;
    snprintf(day, sizeof day, "%d-05-11", harness_next_year());
    snprintf(unreachable_url, sizeof unreachable_url,
             "postgres://postgres@127.0.0.1:%d/clinic?connect_timeout=1", harness_free_port());
    if (!mkdtemp(ha_dir) || !mkdtemp(log_dir) || chmod(log_dir, 0777) != 0)
        return -1;
    rmdir(ha_dir); /* ha.sh makes it, for the PostgreSQL user */
    if (ha("up", NULL, 0) != 0 || ha("url", url, sizeof url) != 0 ||
        ha("standby-url", standby_url, sizeof standby_url) != 0) {
        fprintf(stderr, "scripts/ha.sh up failed; its logs are in %s\n", ha_dir);
        return -1;
    }
    if (!start(&lagging, standby_url, "3600000") || !start(&fresh, standby_url, "0") ||
        !start(&cut_off, unreachable_url, "3600000"))
        return -1;
    return harness_seed_clinic(url, ZONE, 1, 1, &clinic) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_daemon_stop(&lagging);
    harness_daemon_stop(&fresh);
    harness_daemon_stop(&cut_off);
    ha("down", NULL, 0);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf -- %s", log_dir);
    return system(rm) == 0 ? 0 : -1;
}

/* How many appointments the day sheet of daemon d shows for the seeded therapist; -1 on failure. */
static int sheet_appointments(const struct harness_daemon *d)
{
    clinic_client *c = harness_connect_as(d->url, d->admin_token);
    assert_non_null(c);
    Clinic__V1__DaySheetRequest req = CLINIC__V1__DAY_SHEET_REQUEST__INIT;
    req.location_id = clinic.location_id;
    req.date = day;
    Clinic__V1__DaySheetResponse *r = NULL;
    struct clinic_error err;
    int code = harness_call(c, "Scheduling/DaySheet", &req,
                            &clinic__v1__day_sheet_response__descriptor, &r, false, NULL, &err);
    clinic_close(c);
    if (code != STATUS_OK) {
        print_message("DaySheet through %s: %d %s\n", d->url, code, err.message);
        return -1;
    }
    int n = r->n_therapists ? (int)r->therapists[0]->n_appointments : 0;
    harness_free_message(r);
    return n;
}

static void book_at_ten(const struct harness_daemon *d)
{
    clinic_client *c = harness_connect_as(d->url, d->admin_token);
    assert_non_null(c);
    char start[32];
    snprintf(start, sizeof start, "%s 10:00", day);
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[0];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = start;
    struct clinic_error err;
    int code = harness_call(c, "Scheduling/Book", &req, &clinic__v1__appointment__descriptor, NULL,
                            true, NULL, &err);
    clinic_close(c);
    if (code != STATUS_OK)
        fail_msg("Book through the lagging daemon: %d %s", code, err.message);
}

static char *on_standby(const char *sql)
{
    char *v = harness_sql(standby_url, sql);
    assert_non_null(v);
    return v;
}

static void a_lagging_standby_answers_reads_only_where_allowed(void **state)
{
    (void)state;
    /* the standby has the clinic (synchronous replication; replay follows at once) */
    long long until = harness_now_ms() + 30000;
    while (sheet_appointments(&lagging) != 0 && harness_now_ms() < until)
        harness_sleep_ms(200);
    assert_int_equal(sheet_appointments(&lagging), 0);

    char *paused = on_standby("SELECT pg_wal_replay_pause()");
    free(paused);
    book_at_ten(&lagging); /* a write: on the primary, whatever the daemon reads from */
    /* the standby has not replayed it: the daemon allowed an hour's lag still reads there */
    assert_int_equal(sheet_appointments(&lagging), 0);
    /* the one that allows none goes to the primary (once a second it asks the standby's lag) */
    until = harness_now_ms() + 10000;
    while (sheet_appointments(&fresh) != 1 && harness_now_ms() < until)
        harness_sleep_ms(200);
    assert_int_equal(sheet_appointments(&fresh), 1);
    /* a read database that does not answer: reads go to the primary */
    assert_int_equal(sheet_appointments(&cut_off), 1);

    char *resumed = on_standby("SELECT pg_wal_replay_resume()");
    free(resumed);
    until = harness_now_ms() + 30000;
    while (sheet_appointments(&lagging) != 1 && harness_now_ms() < until)
        harness_sleep_ms(200);
    assert_int_equal(sheet_appointments(&lagging), 1);
}

static void reflection_names_the_methods_a_standby_may_answer(void **state)
{
    (void)state;
    clinic_client *c = harness_connect_as(lagging.url, lagging.admin_token);
    assert_non_null(c);
    Clinic__V1__ListMethodsRequest req = CLINIC__V1__LIST_METHODS_REQUEST__INIT;
    Clinic__V1__ListMethodsResponse *r = NULL;
    struct clinic_error err;
    assert_int_equal(harness_call(c, "Reflection/ListMethods", &req,
                                  &clinic__v1__list_methods_response__descriptor, &r, false, NULL,
                                  &err),
                     STATUS_OK);
    int standby_ok = 0;
    for (size_t i = 0; i < r->n_methods; i++) {
        const Clinic__V1__MethodInfo *m = r->methods[i];
        if (m->may_read_standby)
            standby_ok++;
        /* never a write, a note, or the audit trail */
        if (m->may_read_standby &&
            (m->mutates || strstr(m->name, "Notes/") || strstr(m->name, "Audit/")))
            fail_msg("%s may read a standby", m->name);
        if (strcmp(m->name, "/clinic.v1.Scheduling/FindSlots") == 0)
            assert_true(m->may_read_standby);
        if (strcmp(m->name, "/clinic.v1.Scheduling/GetAppointment") == 0)
            assert_false(m->may_read_standby);
    }
    assert_true(standby_ok >= 5);
    harness_free_message(r);
    clinic_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_lagging_standby_answers_reads_only_where_allowed),
        cmocka_unit_test(reflection_names_the_methods_a_standby_may_answer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
