/* control/config.c: the `control:` section and the token file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "control/config.h"

static char g_dir[64];

static void put(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Writes `yaml` as steerd.yaml in the scratch dir and parses its control
 * section; returns the parse result, the error in err. */
static int parse(const char *yaml, struct control_config *out, char *err, size_t errlen)
{
    put("steerd.yaml", yaml);
    char p[256];
    snprintf(p, sizeof p, "%s/steerd.yaml", g_dir);
    return control_config_load(p, out, err, errlen);
}

static int setup(void **st)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/test_control.XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    put("good.token", "0123456789abcdef0123\n");
    put("short.token", "abc\n");
    put("empty.token", "\n");
    put("space.token", "0123456789 abcdef0123\n");
    char big[400];
    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    put("long.token", big);
    return 0;
}

static int teardown(void **st)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void absent_section_is_not_configured(void **st)
{
    struct control_config c;
    char err[512];
    assert_int_equal(parse("server: {}\n", &c, err, sizeof err), 0);
    assert_false(c.configured);
}

static void defaults(void **st)
{
    struct control_config c;
    char err[512];
    assert_int_equal(parse("control:\n  token_file: good.token\n", &c, err, sizeof err), 0);
    assert_true(c.configured);
    assert_int_equal(c.port, 8053);
    assert_int_equal(c.addr.family, 4);
    assert_int_equal(c.addr.bytes[0], 127);
    assert_false(c.allow_remote);
    assert_string_equal(c.token, "0123456789abcdef0123");
    assert_int_equal(c.token_len, 20);
}

static void ipv6_loopback_and_port(void **st)
{
    struct control_config c;
    char err[512];
    assert_int_equal(parse("control: {listen: \"[::1]:9000\", token_file: good.token}\n", &c, err, sizeof err), 0);
    assert_int_equal(c.addr.family, 6);
    assert_int_equal(c.port, 9000);
}

static void expect_err(const char *yaml, const char *want)
{
    struct control_config c;
    char err[1024];
    assert_int_equal(parse(yaml, &c, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error '%s' lacks '%s'", err, want);
    assert_non_null(strstr(err, "steerd.yaml:"));
}

static void errors_carry_file_line(void **st)
{
    expect_err("control:\n  listen: 192.0.2.1:8053\n  token_file: good.token\n", "steerd.yaml:2: control.listen: 192.0.2.1:8053 is not a loopback");
    expect_err("control:\n  listen: \"[2001:db8::1]:8053\"\n  token_file: good.token\n", "not a loopback");
    expect_err("control:\n  listen: localhost:80\n  token_file: good.token\n", "not ADDRESS:PORT");
    expect_err("control:\n  listen: 127.0.0.1:0\n  token_file: good.token\n", "not ADDRESS:PORT");
    expect_err("control:\n  listen: 127.0.0.1:70000\n  token_file: good.token\n", "not ADDRESS:PORT");
    expect_err("control:\n  listen: 127.0.0.1:8053\n", "token_file");
    expect_err("control:\n  token_file: good.token\n  tokenfile: x\n", "unknown key 'tokenfile'");
    expect_err("control: [1, 2]\n", "control must be a mapping");
    expect_err("control:\n  token_file: good.token\n  allow_remote: maybe\n", "steerd.yaml:3:");
    expect_err("control:\n  token_file: missing.token\n", "steerd.yaml:2: control.token_file: cannot read");
    expect_err("control:\n  token_file: short.token\n", "too short");
    expect_err("control:\n  token_file: empty.token\n", "empty");
    expect_err("control:\n  token_file: space.token\n", "space or control character");
    expect_err("control:\n  token_file: long.token\n", "longer than 256");
}

static void allow_remote(void **st)
{
    struct control_config c;
    char err[512];
    assert_int_equal(parse("control: {listen: \"0.0.0.0:8053\", allow_remote: true, token_file: good.token}\n", &c, err,
                           sizeof err), 0);
    assert_true(c.allow_remote);
}

static void token_read_direct(void **st)
{
    char p[256], tok[CONTROL_TOKEN_MAX + 1], why[512];
    snprintf(p, sizeof p, "%s/crlf.token", g_dir);
    put("crlf.token", "abcdefghijklmnopqrstuvwxyz\r\nsecond line ignored\n");
    assert_int_equal(control_token_read(p, tok, sizeof tok, why, sizeof why), 26);
    assert_string_equal(tok, "abcdefghijklmnopqrstuvwxyz");
    put("nonl.token", "abcdefghijklmnopqrstuvwxyz");
    snprintf(p, sizeof p, "%s/nonl.token", g_dir);
    assert_int_equal(control_token_read(p, tok, sizeof tok, why, sizeof why), 26);
    /* a too small output buffer is an error, never a truncated token */
    char small[8];
    assert_int_equal(control_token_read(p, small, sizeof small, why, sizeof why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(absent_section_is_not_configured), cmocka_unit_test(defaults),
        cmocka_unit_test(ipv6_loopback_and_port),           cmocka_unit_test(errors_carry_file_line),
        cmocka_unit_test(allow_remote),                     cmocka_unit_test(token_read_direct),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
