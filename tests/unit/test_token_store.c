/* The token file of `clinic login`: created 0600 in a 0700 folder even under umask 0, replaced
 * by rename without leftovers, found under XDG_CONFIG_HOME or ~/.config; a file others may read,
 * a symbolic link or an empty file is refused with a sentence saying what to do; and the token a
 * command sends is --token, else CLINIC_TOKEN, else the file's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "token_store.h"

static char root[64];
static char xdg[128], home[128], token_path[192];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/clinic-token-test-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    snprintf(xdg, sizeof xdg, "%s/xdg", root);
    snprintf(home, sizeof home, "%s/home", root);
    snprintf(token_path, sizeof token_path, "%s/clinic/token", xdg);
    mkdir(home, 0700);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    setenv("HOME", home, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void save_creates_a_0700_folder_and_a_0600_file_even_under_umask_0(void **state)
{
    (void)state;
    char err[256], dir[160];
    mode_t old = umask(0);
    assert_true(token_store_save("tok-1", err, sizeof err));
    umask(old);
    snprintf(dir, sizeof dir, "%s/clinic", xdg);
    assert_int_equal(mode_of(xdg), 0700);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(token_path), 0600);
    char *token;
    assert_int_equal(token_store_load(&token, err, sizeof err), TOKEN_LOAD_OK);
    assert_string_equal(token, "tok-1");
    free(token);
}

static void save_replaces_the_file_and_leaves_no_temporary_behind(void **state)
{
    (void)state;
    char err[256], dir[160];
    assert_true(token_store_save("first", err, sizeof err));
    assert_true(token_store_save("second", err, sizeof err));
    snprintf(dir, sizeof dir, "%s/clinic", xdg);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' || strncmp(e->d_name, ".token.", 7) == 0)
            files++;
    closedir(d);
    assert_int_equal(files, 1);
    char *token;
    assert_int_equal(token_store_load(&token, err, sizeof err), TOKEN_LOAD_OK);
    assert_string_equal(token, "second");
    free(token);
}

static void a_file_others_may_read_is_refused_with_the_fix(void **state)
{
    (void)state;
    char err[512], *token = (char *)"x";
    assert_true(token_store_save("secret", err, sizeof err));
    assert_int_equal(chmod(token_path, 0644), 0);
    assert_int_equal(token_store_load(&token, err, sizeof err), TOKEN_LOAD_REFUSED);
    assert_null(token);
    assert_non_null(strstr(err, "mode 0644"));
    assert_non_null(strstr(err, "chmod 600"));
    assert_int_equal(chmod(token_path, 0600), 0);
}

static void a_symbolic_link_or_an_empty_file_is_refused(void **state)
{
    (void)state;
    char err[512], *token, target[192];
    assert_true(token_store_save("real", err, sizeof err));
    snprintf(target, sizeof target, "%s/elsewhere", root);
    assert_int_equal(rename(token_path, target), 0);
    assert_int_equal(symlink(target, token_path), 0);
    assert_int_equal(token_store_load(&token, err, sizeof err), TOKEN_LOAD_REFUSED);
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(unlink(token_path), 0);
    FILE *f = fopen(token_path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(token_path, 0600), 0);
    assert_int_equal(token_store_load(&token, err, sizeof err), TOKEN_LOAD_REFUSED);
    assert_non_null(strstr(err, "holds no token"));
    assert_true(token_store_remove(err, sizeof err));
}

static void the_path_falls_back_to_home_config_without_an_absolute_xdg_config_home(void **state)
{
    (void)state;
    char path[256], expected[256];
    snprintf(expected, sizeof expected, "%s/.config/clinic/token", home);
    setenv("XDG_CONFIG_HOME", "relative/dir", 1);
    assert_true(token_store_path(path, sizeof path));
    assert_string_equal(path, expected);
    unsetenv("XDG_CONFIG_HOME");
    assert_true(token_store_path(path, sizeof path));
    assert_string_equal(path, expected);
    unsetenv("HOME");
    assert_false(token_store_path(path, sizeof path));
    assert_non_null(strstr(path, "HOME"));
    setenv("HOME", home, 1);
    setenv("XDG_CONFIG_HOME", xdg, 1);
}

static void remove_deletes_the_file_and_a_missing_file_is_fine(void **state)
{
    (void)state;
    char err[256], *token;
    assert_true(token_store_save("gone", err, sizeof err));
    assert_true(token_store_remove(err, sizeof err));
    assert_int_equal(access(token_path, F_OK), -1);
    assert_true(token_store_remove(err, sizeof err));
    assert_int_equal(token_store_load(&token, err, sizeof err), TOKEN_LOAD_NONE);
}

static void flag_beats_variable_beats_file(void **state)
{
    (void)state;
    char err[256], *token;
    assert_true(token_store_save("from-file", err, sizeof err));
    assert_int_equal(token_store_choose("from-flag", "from-env", &token, NULL), TOKEN_FROM_FLAG);
    assert_string_equal(token, "from-flag");
    free(token);
    assert_int_equal(token_store_choose(NULL, "from-env", &token, NULL), TOKEN_FROM_ENV);
    assert_string_equal(token, "from-env");
    free(token);
    assert_int_equal(token_store_choose("", "", &token, NULL), TOKEN_FROM_FILE);
    assert_string_equal(token, "from-file");
    free(token);
    assert_true(token_store_remove(err, sizeof err));
    assert_int_equal(token_store_choose(NULL, NULL, &token, NULL), TOKEN_FROM_NONE);
    assert_null(token);
}

static void a_refused_file_is_warned_about_and_no_token_is_sent(void **state)
{
    (void)state;
    char err[256], *token, *warning = NULL;
    size_t len = 0;
    assert_true(token_store_save("leaked", err, sizeof err));
    assert_int_equal(chmod(token_path, 0640), 0);
    FILE *warn = open_memstream(&warning, &len);
    assert_int_equal(token_store_choose(NULL, NULL, &token, warn), TOKEN_FROM_NONE);
    fclose(warn);
    assert_null(token);
    assert_non_null(strstr(warning, "clinic: warning: the token file"));
    assert_non_null(strstr(warning, "ignoring it"));
    free(warning);
    assert_true(token_store_remove(err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(save_creates_a_0700_folder_and_a_0600_file_even_under_umask_0),
        cmocka_unit_test(save_replaces_the_file_and_leaves_no_temporary_behind),
        cmocka_unit_test(a_file_others_may_read_is_refused_with_the_fix),
        cmocka_unit_test(a_symbolic_link_or_an_empty_file_is_refused),
        cmocka_unit_test(the_path_falls_back_to_home_config_without_an_absolute_xdg_config_home),
        cmocka_unit_test(remove_deletes_the_file_and_a_missing_file_is_fine),
        cmocka_unit_test(flag_beats_variable_beats_file),
        cmocka_unit_test(a_refused_file_is_warned_about_and_no_token_is_sent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
