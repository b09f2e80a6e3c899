/* Unit tests for common/privdrop.h: user lookup refusals, the startup
 * checks (writable state file directory, cache directory, readable files),
 * and the drop itself in a forked child (all IDs become the user's, root
 * cannot be regained, a second call is a no-op). The drop needs root; as
 * another user the test checks the refusal instead. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/privdrop.h"

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/privdrop-test.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_lookup(void **state)
{
    (void)state;
    struct privdrop_user u;
    char err[512];
    assert_int_equal(privdrop_lookup("no-such-user-privdrop", &u, err, sizeof err), PRIVDROP_ERR);
    assert_non_null(strstr(err, "no such user 'no-such-user-privdrop'"));
    assert_int_equal(privdrop_lookup("root", &u, err, sizeof err), PRIVDROP_ERR);
    assert_non_null(strstr(err, "root (uid 0)"));
    assert_int_equal(privdrop_lookup("", &u, err, sizeof err), PRIVDROP_ERR);
    char longname[PRIVDROP_NAME_MAX + 8];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(privdrop_lookup(longname, &u, err, sizeof err), PRIVDROP_ERR);
    assert_non_null(strstr(err, "longer than"));
    /* nobody exists on every Debian system */
    assert_int_equal(privdrop_lookup("nobody", &u, err, sizeof err), PRIVDROP_OK);
    assert_string_equal(u.name, "nobody");
    assert_true(u.uid != 0);
}

static void test_checks(void **state)
{
    (void)state;
    char err[512], p[256];
    /* state file in a writable directory, existing or not */
    snprintf(p, sizeof p, "%s/state", g_dir);
    assert_int_equal(privdrop_check_file_writable("x.state_file", p, err, sizeof err), PRIVDROP_OK);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(privdrop_check_file_writable("x.state_file", p, err, sizeof err), PRIVDROP_OK);
    /* missing directory, and a file where the directory should be */
    snprintf(p, sizeof p, "%s/missing/state", g_dir);
    assert_int_equal(privdrop_check_file_writable("x.state_file", p, err, sizeof err), PRIVDROP_ERR);
    assert_non_null(strstr(err, "x.state_file"));
    assert_non_null(strstr(err, "No such file"));
    snprintf(p, sizeof p, "%s/state/sub", g_dir);
    assert_int_equal(privdrop_check_file_writable("x.state_file", p, err, sizeof err), PRIVDROP_ERR);
    assert_non_null(strstr(err, "is not a directory"));
    /* a bare name is relative to the working directory */
    assert_int_equal(privdrop_check_file_writable("bare", "privdrop-no-such-file", err, sizeof err),
                     access(".", W_OK) == 0 ? PRIVDROP_OK : PRIVDROP_ERR);
    /* cache directories */
    assert_int_equal(privdrop_check_dir_writable("cache.disk.dir", g_dir, err, sizeof err), PRIVDROP_OK);
    snprintf(p, sizeof p, "%s/state", g_dir);
    assert_int_equal(privdrop_check_dir_writable("cache.disk.dir", p, err, sizeof err), PRIVDROP_ERR);
    assert_non_null(strstr(err, "not a directory"));
    snprintf(p, sizeof p, "%s/nope", g_dir);
    assert_int_equal(privdrop_check_dir_writable("cache.disk.dir", p, err, sizeof err), PRIVDROP_ERR);
    /* readable files */
    snprintf(p, sizeof p, "%s/state", g_dir);
    assert_int_equal(privdrop_check_readable("zone file", p, err, sizeof err), PRIVDROP_OK);
    snprintf(p, sizeof p, "%s/nope", g_dir);
    assert_int_equal(privdrop_check_readable("zone file", p, err, sizeof err), PRIVDROP_ERR);
    assert_non_null(strstr(err, "zone file"));
    unsigned start = privdrop_unprivileged_port_start();
    assert_true(start <= 65536);
}

/* Child side of test_apply: returns a distinct code per failed step. */
static int drop_child(const char *dir)
{
    struct privdrop_user u;
    char err[512];
    if (privdrop_lookup("nobody", &u, err, sizeof err) != PRIVDROP_OK)
        return 10;
    if (privdrop_apply(&u, err, sizeof err) != PRIVDROP_OK)
        return 11;
    uid_t r, e, s;
    gid_t rg, eg, sg;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    if (r != u.uid || e != u.uid || s != u.uid || rg != u.gid || eg != u.gid || sg != u.gid)
        return 12;
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
        return 13;
    gid_t groups[64];
    int n = getgroups(64, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == 0)
            return 14;   /* root's supplementary groups were kept */
    /* the root-owned 0700 test directory is no longer writable */
    char p[256];
    snprintf(p, sizeof p, "%s/state", dir);
    if (privdrop_check_file_writable("health.state_file", p, err, sizeof err) != PRIVDROP_ERR ||
        !strstr(err, "not writable by uid"))
        return 15;
    /* a second drop to the same user changes nothing and succeeds */
    if (privdrop_apply(&u, err, sizeof err) != PRIVDROP_OK)
        return 16;
    return 0;
}

static void test_apply(void **state)
{
    (void)state;
    struct privdrop_user u;
    char err[512];
    assert_int_equal(privdrop_lookup("nobody", &u, err, sizeof err), PRIVDROP_OK);
    if (geteuid() == u.uid) {   /* running as nobody: the drop is a no-op */
        assert_int_equal(privdrop_apply(&u, err, sizeof err), PRIVDROP_OK);
        return;
    }
    if (geteuid() != 0) {
        assert_int_equal(privdrop_apply(&u, err, sizeof err), PRIVDROP_ERR);
        assert_non_null(strstr(err, "not running as root"));
        return;
    }
    chmod(g_dir, 0700);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(drop_child(g_dir));   /* _exit: no atexit/LSan run in the child */
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* the parent is untouched */
    assert_int_equal(geteuid(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
