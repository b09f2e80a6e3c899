/* control/status.c: If-None-Match matching for the status page's assets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include "control/control.h"

#define TAG "\"0123456789abcdef\""

static void matches(void **st)
{
    assert_true(control_etag_matches(TAG, TAG));
    assert_true(control_etag_matches("*", TAG));
    assert_true(control_etag_matches(" * ", TAG));
    assert_true(control_etag_matches("W/" TAG, TAG));                        /* weak comparison */
    assert_true(control_etag_matches("\"x\", " TAG, TAG));                   /* in a list */
    assert_true(control_etag_matches("\"x\",W/" TAG ",\"y\"", TAG));
    assert_true(control_etag_matches("\t" TAG "\t,", TAG));
}

static void does_not_match(void **st)
{
    assert_false(control_etag_matches("", TAG));
    assert_false(control_etag_matches(",,, ,", TAG));
    assert_false(control_etag_matches("0123456789abcdef", TAG));             /* unquoted */
    assert_false(control_etag_matches("\"0123456789abcdeF\"", TAG));         /* case matters */
    assert_false(control_etag_matches(TAG "x", TAG));
    assert_false(control_etag_matches("x" TAG, TAG));
    assert_false(control_etag_matches("W/", TAG));
    assert_false(control_etag_matches("W/W/" TAG, TAG));
    assert_false(control_etag_matches("\"0123456789abcde\"", TAG));          /* prefix */
    assert_false(control_etag_matches("**", TAG));
    assert_false(control_etag_matches("*x", TAG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches),
        cmocka_unit_test(does_not_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
