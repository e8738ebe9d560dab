/* Backups as the README's "Backups and restore" takes them: a clinic with bookings (through the
 * daemon, so the audit trail has rows), a signed note and an amendment is dumped with pg_dump
 * (custom format) and restored with pg_restore into a new cluster, where the role clinic_app is
 * made first, as the README says; a daemon then starts on the restored database without
 * migrating anything again and serves it, and every appointment, note, amendment and audit row
 * is there, the same row for row. PostgreSQL's programs are found as the daemon finds them
 * (pg_programs.h), never on PATH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pg_programs.h"
#include "status.h"

static struct harness_pg first, second;
static struct harness_daemon daemon_, restored;
static struct harness_clinic clinic;
static char first_url[512], second_url[512];

/* Every row a backup must keep, as one text per table (md5 of the rows in id order). */
static const char rows_sql[] =
    "SELECT concat_ws(' ',"
    " (SELECT count(*) || ':' || md5(string_agg(a::text, '|' ORDER BY a.id)) FROM appointments a),"
    " (SELECT count(*) || ':' || md5(string_agg(n::text, '|' ORDER BY n.id))"
    "  FROM treatment_notes n),"
    " (SELECT count(*) || ':' || md5(string_agg(m::text, '|' ORDER BY m.id))"
    "  FROM note_amendments m),"
    " (SELECT count(*) || ':' || md5(string_agg(x::text, '|' ORDER BY x.id)) FROM audit x),"
    " (SELECT count(*) FROM schema_migrations))";

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&first) ||
        !harness_pg_create_database(&first, "backed_up", first_url, sizeof first_url) ||
        !harness_daemon_start(&daemon_, first.dir, first_url, NULL, true) ||
        !harness_seed_clinic(first_url, "Europe/Berlin", 1, 2, &clinic))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* daemons a failed step left running */
    if (daemon_.pid > 0)
        (void)harness_daemon_stop(&daemon_);
    if (restored.pid > 0)
        (void)harness_daemon_stop(&restored);
    harness_pg_destroy(&first);
    harness_pg_destroy(&second);
    return 0;
}

/* Runs PostgreSQL's `program` with argv (after the program's name); 0 on success. */
static int run_pg(const char *program, const char *const *args)
{
    char bindir[256], path[300];
    assert_true(pg_programs_find_bindir(program, bindir, sizeof bindir));
    snprintf(path, sizeof path, "%s/%s", bindir, program);
    char *err = NULL;
    int status = harness_run_program(path, args, NULL, NULL, &err);
    if (status != 0)
        fprintf(stderr, "%s: %s\n", program, err ? err : "");
    free(err);
    return status;
}

static void a_dumped_clinic_is_restored_whole_into_a_new_cluster(void **state)
{
    (void)state;
    /* bookings through the daemon (audited), a session that happened, its signed note, an
     * amendment */
    char client[24], service[24], start[32];
    snprintf(client, sizeof client, "%lld", clinic.client_ids[0]);
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    for (int i = 0; i < 3; i++) {
        char *day = harness_sql(first_url, "SELECT ((now() AT TIME ZONE 'Europe/Berlin')::date"
                                           " + 3)::text");
        assert_non_null(day);
        snprintf(start, sizeof start, "%s %02d:00", day, 9 + 2 * i);
        free(day);
        const char *argv[] = {"--url",     daemon_.url, "book",    "--client", client,
                              "--service", service,     "--start", start,      NULL};
        assert_int_equal(harness_run_cli(argv, NULL, NULL, NULL), 0);
    }
    long long appt = harness_sql_id(
        first_url,
        "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked, status) SELECT %lld, %lld, %lld, %lld, %lld,"
        " now() - interval '2 days', now() - interval '2 days' + interval '1 hour',"
        " tstzrange(now() - interval '2 days', now() - interval '2 days' + interval '1 hour'),"
        " 'completed' RETURNING id",
        clinic.client_ids[1], clinic.therapist_ids[0], clinic.room_ids[0], clinic.service_id,
        clinic.location_id);
    assert_true(appt > 0);
    long long note = harness_sql_id(first_url,
                                    "INSERT INTO treatment_notes (appointment_id,"
                                    " author_therapist_id, status, pain_before, pain_after, areas,"
                                    " techniques, plan) VALUES (%lld, %lld, 'signed', 6, 3,"
                                    " '{lower_back}', '{swedish}', 'weekly') RETURNING id",
                                    appt, clinic.therapist_ids[0]);
    assert_true(note > 0);
    assert_true(harness_sql_id(first_url,
                               "INSERT INTO note_amendments (note_id, author_therapist_id, reason,"
                               " text) VALUES (%lld, %lld, 'typo', 'fortnightly') RETURNING id",
                               note, clinic.therapist_ids[0]) > 0);
    char *before = harness_sql(first_url, rows_sql);
    assert_non_null(before);
    assert_int_equal(harness_daemon_stop(&daemon_), 0);

    /* pg_dump of the database, in the custom format pg_restore reads */
    char dump[160];
    snprintf(dump, sizeof dump, "%s/clinic.dump", first.dir);
    const char *dump_args[] = {"--format=custom", "--file", dump, "--dbname", first_url, NULL};
    assert_int_equal(run_pg("pg_dump", dump_args), 0);

    /* a new cluster: the role the schema grants to, then the database, restored */
    assert_true(harness_pg_start(&second));
    char admin_url[512];
    assert_true(harness_pg_create_database(&second, "scratch", admin_url, sizeof admin_url));
    char *made = harness_sql(admin_url, "CREATE ROLE clinic_app NOLOGIN");
    assert_non_null(made);
    free(made);
    assert_true(harness_pg_create_database(&second, "restored", second_url, sizeof second_url));
    const char *restore_args[] = {"--exit-on-error", "--dbname", second_url, dump, NULL};
    assert_int_equal(run_pg("pg_restore", restore_args), 0);

    /* the same rows, and a daemon that serves them without migrating again */
    char *after = harness_sql(second_url, rows_sql);
    assert_non_null(after);
    assert_string_equal(after, before);
    assert_true(harness_daemon_start(&restored, second.dir, second_url, NULL, true));
    char *log = harness_daemon_log(&restored);
    assert_non_null(log);
    assert_null(strstr(log, "applied migration"));
    free(log);
    char id[24];
    snprintf(id, sizeof id, "%lld", appt);
    const char *show[] = {"--url", restored.url, "appointment", id, NULL};
    char *out = NULL;
    assert_int_equal(harness_run_cli(show, NULL, &out, NULL), 0);
    harness_assert_contains(out, "completed");
    free(out);
    assert_int_equal(harness_daemon_stop(&restored), 0);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_dumped_clinic_is_restored_whole_into_a_new_cluster),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
