/* tls+tcp:// works: the daemon serves with the certificate given by --tls-cert-key; clients verify
 * it against CLINIC_TLS_CA and the URL's host; a client without a CA, with the wrong CA, or
 * speaking plain TCP is refused with a sentence; a TLS URL without a certificate stops start-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char database_url[512], tls_url[64], ca[160], other_ca[160], cert_key[160];

/* Makes a self-signed certificate for `name` into dir/<stem>.pem (+ its key in
 * dir/<stem>-key.pem). */
static bool make_certificate(const char *stem, const char *name)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s-key.pem -out %s.pem -days 2 -subj /CN=%s -addext subjectAltName=DNS:%s "
             ">/dev/null 2>&1",
             pg.dir, stem, stem, name, name);
    return system(cmd) == 0;
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "tls", database_url, sizeof database_url) ||
        !make_certificate("daemon", "localhost") || !make_certificate("stranger", "localhost"))
        return -1;
    snprintf(ca, sizeof ca, "%s/daemon.pem", pg.dir);
    snprintf(other_ca, sizeof other_ca, "%s/stranger.pem", pg.dir);
    snprintf(cert_key, sizeof cert_key, "%s/daemon-both.pem", pg.dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat %s/daemon.pem %s/daemon-key.pem > %s", pg.dir, pg.dir, cert_key);
    if (system(cmd) != 0)
        return -1;
    const char *const args[] = {"--listen", "tls+tcp://localhost:0", "--tls-cert-key", cert_key,
                                NULL};
    setenv("CLINIC_TLS_CA", ca, 1);
    if (!harness_daemon_start(&daemon_, pg.dir, database_url, args, false) ||
        !harness_daemon_wait_url(&daemon_, 60000))
        return -1;
    snprintf(tls_url, sizeof tls_url, "%s", daemon_.url);
    for (int waited = 0; harness_health(tls_url, 1000) != 1; waited += 100) {
        if (waited > 60000)
            return -1;
        harness_sleep_ms(100);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

static int cli_health(const char *url, const char *ca_env, char **err)
{
    const char *const argv[] = {"--timeout", "3000", "--url", url, "health", NULL};
    const char *const env[] = {ca_env, NULL};
    return harness_run_cli(argv, ca_env ? env : NULL, NULL, err);
}

static void client_with_the_right_ca_is_served(void **state)
{
    (void)state;
    assert_int_equal(harness_health(tls_url, 3000), 1);
    char env[200];
    snprintf(env, sizeof env, "CLINIC_TLS_CA=%s", ca);
    assert_int_equal(cli_health(tls_url, env, NULL), 0);
}

static void client_without_a_ca_is_told_to_set_one(void **state)
{
    (void)state;
    char *err = NULL;
    unsetenv("CLINIC_TLS_CA");
    int status = cli_health(tls_url, NULL, &err);
    setenv("CLINIC_TLS_CA", ca, 1);
    assert_int_equal(status, STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "CLINIC_TLS_CA"));
    free(err);
}

static void client_trusting_another_ca_is_refused(void **state)
{
    (void)state;
    char env[200];
    char *err = NULL;
    snprintf(env, sizeof env, "CLINIC_TLS_CA=%s", other_ca);
    assert_int_equal(cli_health(tls_url, env, &err), STATUS_UNAVAILABLE);
    assert_non_null(strstr(err, "cannot reach clinicd"));
    free(err);
}

static void plain_tcp_client_is_refused(void **state)
{
    (void)state;
    char plain[64];
    snprintf(plain, sizeof plain, "tcp://%s", tls_url + strlen("tls+tcp://"));
    assert_int_equal(cli_health(plain, NULL, NULL), STATUS_UNAVAILABLE);
    assert_int_equal(harness_health(tls_url, 3000), 1); /* and the daemon shrugs it off */
}

static void tls_url_without_certificate_stops_startup(void **state)
{
    (void)state;
    const char *const args[] = {"--listen", "tls+tcp://localhost:0", NULL};
    struct harness_daemon d;
    assert_true(harness_daemon_start(&d, pg.dir, database_url, args, false));
    assert_int_equal(harness_daemon_wait_exit(&d, 30000), 1);
    char *log = harness_daemon_log(&d);
    assert_non_null(strstr(log, "--tls-cert-key"));
    free(log);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_with_the_right_ca_is_served),
        cmocka_unit_test(client_without_a_ca_is_told_to_set_one),
        cmocka_unit_test(client_trusting_another_ca_is_refused),
        cmocka_unit_test(plain_tcp_client_is_refused),
        cmocka_unit_test(tls_url_without_certificate_stops_startup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
