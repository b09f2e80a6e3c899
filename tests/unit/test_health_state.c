/* Unit tests: hysteresis state machine, provider verdict, reasons, and the
 * override state file (parse, malformed input, atomic save, reload). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "health/admin.h"
#include "health/hyst.h"
#include "health/reason.h"

static void test_rise_fall(void **st)
{
    struct hyst h;
    hyst_init(&h);
    assert_int_equal(h.state, PROV_UNKNOWN);
    /* unknown -> up after rise=3 successes */
    assert_false(hyst_feed(&h, 0, 3, 2));
    assert_false(hyst_feed(&h, 0, 3, 2));
    assert_true(hyst_feed(&h, 0, 3, 2));
    assert_int_equal(h.state, PROV_UP);
    /* one failure does not bring it down (fall=2), a success resets the run */
    assert_false(hyst_feed(&h, HR_TIMEOUT, 3, 2));
    assert_false(hyst_feed(&h, 0, 3, 2));
    assert_false(hyst_feed(&h, HR_TIMEOUT, 3, 2));
    assert_true(hyst_feed(&h, HR_REFUSED, 3, 2));
    assert_int_equal(h.state, PROV_DOWN);
    assert_int_equal(h.reason, HR_REFUSED);
    /* while down, the newest reason is kept */
    assert_false(hyst_feed(&h, HR_STATUS_BASE + 503, 3, 2));
    assert_int_equal(h.reason, HR_STATUS_BASE + 503);
    /* two successes are not enough to rise */
    assert_false(hyst_feed(&h, 0, 3, 2));
    assert_false(hyst_feed(&h, 0, 3, 2));
    assert_false(hyst_feed(&h, HR_TIMEOUT, 3, 2));
    assert_false(hyst_feed(&h, 0, 3, 2));
    assert_false(hyst_feed(&h, 0, 3, 2));
    assert_true(hyst_feed(&h, 0, 3, 2));
    assert_int_equal(h.state, PROV_UP);
    assert_int_equal(h.reason, HR_NONE);
}

static void test_unknown_to_down(void **st)
{
    struct hyst h;
    hyst_init(&h);
    assert_false(hyst_feed(&h, HR_TIMEOUT, 3, 2));
    assert_int_equal(h.state, PROV_UNKNOWN);
    assert_true(hyst_feed(&h, HR_TIMEOUT, 3, 2));
    assert_int_equal(h.state, PROV_DOWN);
    /* rise=1/fall=1: every result decides */
    hyst_init(&h);
    assert_true(hyst_feed(&h, 0, 1, 1));
    assert_true(hyst_feed(&h, HR_RESET, 1, 1));
    assert_true(hyst_feed(&h, 0, 1, 1));
}

/* The flapping property: alternating results never change a known state
 * when rise, fall >= 2, from any starting state, for long runs. */
static void test_flapping(void **st)
{
    for (uint32_t rise = 2; rise <= 5; rise++)
        for (uint32_t fall = 2; fall <= 5; fall++)
            for (int start = 0; start < 3; start++) {
                struct hyst h;
                hyst_init(&h);
                uint16_t r = start == 2 ? HR_TIMEOUT : 0;
                for (uint32_t i = 0; start && i < (start == 1 ? rise : fall); i++)
                    hyst_feed(&h, r, rise, fall);
                uint8_t s0 = h.state;
                for (int i = 0; i < 1000; i++)
                    assert_false(hyst_feed(&h, (i & 1) ? HR_TIMEOUT : 0, rise, fall));
                assert_int_equal(h.state, s0);
            }
}

static void test_saturation(void **st)
{
    struct hyst h;
    hyst_init(&h);
    for (int i = 0; i < 1000; i++)
        hyst_feed(&h, 0, 3, 2);
    assert_int_equal(h.ok_run, HYST_MAX_RUN);
    assert_int_equal(h.state, PROV_UP);
    assert_true(hyst_feed(&h, 1, 3, 1));
}

static void test_combine(void **st)
{
    uint8_t s[3] = { 0, 0, 0 };
    uint16_t r[3] = { 0, HR_TIMEOUT, HR_NXDOMAIN }, out;
    assert_int_equal(health_combine(s, r, 0, &out), PROV_UP);
    s[0] = PROV_UP; s[1] = PROV_UP; s[2] = PROV_UP;
    assert_int_equal(health_combine(s, r, 3, &out), PROV_UP);
    assert_int_equal(out, 0);
    s[1] = PROV_UNKNOWN;
    assert_int_equal(health_combine(s, r, 3, &out), PROV_UNKNOWN);
    s[2] = PROV_DOWN;
    assert_int_equal(health_combine(s, r, 3, &out), PROV_DOWN);
    assert_int_equal(out, HR_NXDOMAIN);
    s[1] = PROV_DOWN;
    assert_int_equal(health_combine(s, r, 3, &out), PROV_DOWN);
    assert_int_equal(out, HR_TIMEOUT);   /* first down check in order */
}

static void test_reasons(void **st)
{
    char b[64];
    assert_string_equal(health_reason_str(HR_TIMEOUT, b, sizeof b), "timeout");
    assert_string_equal(health_reason_str(HR_STATUS_BASE + 503, b, sizeof b), "bad status 503");
    assert_string_equal(health_reason_token(HR_STATUS_BASE + 404, b, sizeof b), "status_404");
    assert_string_equal(health_reason_str(HR_NXDOMAIN, b, sizeof b), "NXDOMAIN");
    assert_string_equal(health_reason_str(777, b, sizeof b), "reason 777");
    assert_string_equal(health_reason_token(HR_TLS_VERIFY, b, sizeof b), "tls_verify");
}

static void test_overrides_set(void **st)
{
    struct health_overrides o;
    health_overrides_init(&o);
    assert_int_equal(health_overrides_set(&o, "a", ADMIN_DRAIN, PROV_WEIGHT_NONE), 0);
    assert_int_equal(health_overrides_set(&o, "b", ADMIN_NONE, 7), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(health_overrides_get(&o, "a")->admin, ADMIN_DRAIN);
    assert_int_equal(health_overrides_get(&o, "b")->weight, 7);
    assert_int_equal(health_overrides_set(&o, "a", ADMIN_NONE, PROV_WEIGHT_NONE), 0);
    assert_null(health_overrides_get(&o, "a"));
    assert_int_equal(o.n, 1);
    health_overrides_free(&o);
}

static void test_overrides_parse(void **st)
{
    struct health_overrides o;
    char err[256];
    health_overrides_init(&o);
    const char *ok = "# comment\n\nprovider pop-eu admin drain weight -\r\n"
                     "  provider cdn_b   admin none weight 25\nprovider x.y admin down weight 0";
    assert_int_equal(health_overrides_parse(&o, "s", ok, strlen(ok), err, sizeof err), 0);
    assert_int_equal(o.n, 3);
    assert_int_equal(health_overrides_get(&o, "pop-eu")->admin, ADMIN_DRAIN);
    assert_int_equal(health_overrides_get(&o, "pop-eu")->weight, PROV_WEIGHT_NONE);
    assert_int_equal(health_overrides_get(&o, "cdn_b")->weight, 25);
    assert_int_equal(health_overrides_get(&o, "x.y")->admin, ADMIN_FORCE_DOWN);

    static const struct { const char *text, *err; } bad[] = {
        { "provider a admin drain\n", "s:1: expected" },
        { "\nprovider a admin sleepy weight -\n", "s:2: admin must be" },
        { "provider a admin up weight 1000001\n", "s:1: weight must be" },
        { "provider a admin up weight -5\n", "s:1: weight" },
        { "provider a admin up weight - extra\n", "s:1: expected" },
        { "provider a/b admin up weight -\n", "s:1: bad provider name" },
        { "provider a admin up weight -\nprovider a admin down weight -\n", "s:2: duplicate" },
        { "prov a admin up weight -\n", "s:1: expected" },
        { NULL, NULL } };
    for (int i = 0; bad[i].text; i++) {
        err[0] = '\0';
        assert_int_equal(health_overrides_parse(&o, "s", bad[i].text, strlen(bad[i].text), err, sizeof err), -1);
        if (!strstr(err, bad[i].err))
            fail_msg("case %d: '%s' lacks '%s'", i, err, bad[i].err);
        assert_int_equal(o.n, 3);   /* a failed parse changes nothing */
    }
    /* NUL byte and an overlong line */
    assert_int_equal(health_overrides_parse(&o, "s", "provider a\0 admin", 17, err, sizeof err), -1);
    char *big = malloc(HEALTH_STATE_LINE_MAX + 10);
    memset(big, 'a', HEALTH_STATE_LINE_MAX + 10);
    assert_int_equal(health_overrides_parse(&o, "s", big, HEALTH_STATE_LINE_MAX + 10, err, sizeof err), -1);
    assert_non_null(strstr(err, "too long"));
    free(big);
    health_overrides_free(&o);
}

static void test_overrides_save_load(void **st)
{
    char dir[] = "/tmp/steer-health-state.XXXXXX", path[256], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/h.state", dir);
    struct health_overrides o, back;
    health_overrides_init(&o);
    health_overrides_init(&back);
    /* missing file: empty set */
    assert_int_equal(health_overrides_load(&back, path, err, sizeof err), 0);
    assert_int_equal(back.n, 0);
    health_overrides_set(&o, "pop-eu", ADMIN_FORCE_DOWN, PROV_WEIGHT_NONE);
    health_overrides_set(&o, "cdn-a", ADMIN_NONE, 0);
    health_overrides_set(&o, "cdn-b", ADMIN_FORCE_UP, 1000000);
    assert_int_equal(health_overrides_save(&o, path, err, sizeof err), 0);
    assert_int_equal(health_overrides_load(&back, path, err, sizeof err), 0);
    assert_int_equal(back.n, 3);
    for (size_t i = 0; i < o.n; i++) {
        const struct health_override *b = health_overrides_get(&back, o.v[i].provider);
        assert_non_null(b);
        assert_int_equal(b->admin, o.v[i].admin);
        assert_int_equal(b->weight, o.v[i].weight);
    }
    /* no temp file left behind */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    /* a malformed file is an error with file:line */
    FILE *f = fopen(path, "w");
    fputs("provider ok admin up weight -\ngarbage\n", f);
    fclose(f);
    assert_int_equal(health_overrides_load(&back, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "h.state:2:"));
    /* unwritable location: error, nothing half-written */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/missing-dir/h.state", dir);
    assert_int_equal(health_overrides_save(&o, bad, err, sizeof err), -1);
    unlink(path);
    rmdir(dir);
    health_overrides_free(&o);
    health_overrides_free(&back);
}

static void test_admin_names(void **st)
{
    uint8_t a;
    assert_int_equal(prov_admin_parse("drain", &a), 0);
    assert_int_equal(a, ADMIN_DRAIN);
    assert_int_equal(prov_admin_parse("DOWN", &a), -1);
    assert_string_equal(prov_admin_name(ADMIN_FORCE_UP), "up");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rise_fall),
        cmocka_unit_test(test_unknown_to_down),
        cmocka_unit_test(test_flapping),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_combine),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_overrides_set),
        cmocka_unit_test(test_overrides_parse),
        cmocka_unit_test(test_overrides_save_load),
        cmocka_unit_test(test_admin_names),
    };
    return cmocka_run_group_tests_name("health_state", tests, NULL, NULL);
}
