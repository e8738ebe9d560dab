/* db.c's table of prepared statements grows while a pipeline prepares its steps: every step
 * still runs under its own name and answers with its own rows (under AddressSanitizer, a name
 * read from the table's old memory is a use-after-free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "harness.h"

enum { STATEMENTS = 72, PREPARED_FIRST = 31 };

/* Distinct statements (the table is keyed by the statement's address), each adding its index. */
static struct db_stmt statements[STATEMENTS];
static char sql[STATEMENTS][48];

static void declare_statements(void)
{
    for (int i = 0; i < STATEMENTS; i++) {
        snprintf(sql[i], sizeof sql[i], "SELECT $1::int + %d", i);
        statements[i] = (struct db_stmt){sql[i], 1};
    }
}

static void assert_adds(const struct db_result *r, int param, int index)
{
    assert_int_equal(db_rows(r), 1);
    assert_int_equal(atoi(db_value(r, 0, 0)), param + index);
}

/* Runs statements [first, first + n) in one pipeline and checks every step's answer. */
static void pipeline_answers_each_step(struct db *db, int first, int n)
{
    struct db_step steps[DB_PIPELINE_MAX];
    struct db_result *out[DB_PIPELINE_MAX];
    static const char *const params[] = {"1000"};
    for (int i = 0; i < n; i++)
        steps[i] = (struct db_step){&statements[first + i], params, &out[i]};
    assert_int_equal(db_pipeline(db, steps, n), 0);
    for (int i = 0; i < n; i++) {
        assert_adds(out[i], 1000, first + i);
        db_result_free(out[i]);
    }
}

static void pipeline_steps_survive_the_table_growing(void **state)
{
    (void)state;
    struct harness_pg pg;
    char url[512];
    assert_true(harness_pg_start(&pg));
    assert_true(harness_pg_create_database(&pg, "statements", url, sizeof url));
    declare_statements();
    struct db *db = db_new(url);
    assert_non_null(db);
    /* one short of the first growth (64 slots kept at most half full) */
    for (int i = 0; i < PREPARED_FIRST; i++) {
        static const char *const params[] = {"7"};
        struct db_result *r = NULL;
        assert_int_equal(db_query(db, &statements[i], params, &r), 0);
        assert_adds(r, 7, i);
        db_result_free(r);
    }
    /* each pipeline prepares new steps across a growth: 64 -> 128 here, 128 -> 256 later */
    for (int first = PREPARED_FIRST; first + DB_PIPELINE_MAX <= STATEMENTS;
         first += DB_PIPELINE_MAX)
        pipeline_answers_each_step(db, first, DB_PIPELINE_MAX);
    /* and once prepared, the same steps run again under the names the table kept */
    pipeline_answers_each_step(db, PREPARED_FIRST, DB_PIPELINE_MAX);
    db_free(db);
    harness_pg_destroy(&pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline_steps_survive_the_table_growing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
