/* Schema tests: the pgTAP files in tests/schema/ run against a freshly migrated database, each
 * in a transaction it rolls back. A file passes when pgTAP reports no failure and its plan ran. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraints.h"
#include "db.h"
#include "harness.h"
#include "migrate.h"
#include "status.h"

static struct harness_pg pg;
static char url[512];

static int setup(void **state)
{
    (void)state;
    char err[512];
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "schema", url, sizeof url))
        return -1;
    struct db *db = db_new(url);
    bool ok = db && migrate_run(db, migration_files, err, sizeof err) &&
              db_exec_script(db, "CREATE EXTENSION IF NOT EXISTS pgtap") == STATUS_OK;
    if (!ok)
        fprintf(stderr, "schema setup: %s\n", db ? db_error_detail(db) : err);
    db_free(db);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_pg_destroy(&pg);
    return 0;
}

/* Runs one pgTAP file with psql and checks its TAP output. */
static void run_pgtap_file(const char *path)
{
    char psql[PATH_MAX + 8], cmd[2 * PATH_MAX + 700], out_path[] = "/tmp/clinic-pgtap-XXXXXX";
    char bindir[PATH_MAX];
    assert_true(embedded_pg_find_bindir(bindir, sizeof bindir));
    snprintf(psql, sizeof psql, "%s/psql", bindir);
    int fd = mkstemp(out_path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s -X -q -t -A -v ON_ERROR_STOP=1 -d '%s' -f %s > %s 2>&1", psql,
             url, path, out_path);
    int rc = system(cmd);
    char *out = harness_read_file(out_path);
    unlink(out_path);
    assert_non_null(out);
    if (rc != 0 || strstr(out, "not ok") || strstr(out, "# Looks like") || !strstr(out, "1.."))
        fail_msg("%s failed (psql exit %d):\n%s", path, rc, out);
    free(out);
}

static void schema_guarantees_hold(void **state)
{
    (void)state;
    glob_t g;
    assert_int_equal(glob(CLINIC_SOURCE_DIR "/tests/schema/*.sql", 0, NULL, &g), 0);
    assert_true(g.gl_pathc > 0);
    for (size_t i = 0; i < g.gl_pathc; i++)
        run_pgtap_file(g.gl_pathv[i]);
    globfree(&g);
}

/* Every constraint constraints.c words a refusal for is one the schema has (a constraint, or a
 * unique index, which PostgreSQL reports by its name): a renamed constraint would otherwise
 * quietly fall back to the generic sentence. */
static void every_worded_constraint_exists(void **state)
{
    (void)state;
    for (size_t i = 0; constraint_table_name(i); i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM (SELECT conname AS name FROM pg_constraint UNION ALL "
                 "SELECT relname FROM pg_class WHERE relkind = 'i') n WHERE name = '%s'",
                 constraint_table_name(i));
        char *count = harness_sql(url, sql);
        assert_non_null(count);
        if (strcmp(count, "0") == 0)
            fail_msg("constraints.c words \"%s\", which the schema does not define",
                     constraint_table_name(i));
        free(count);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_guarantees_hold),
        cmocka_unit_test(every_worded_constraint_exists),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
