/* control/cli.c: Prometheus text -> JSON for steerctl edge-metrics --json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli.h"

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_non_null(v);
    return json_number_value(v);
}

static void parses_samples(void **st)
{
    json_t *o = cli_metrics_to_json("# HELP x A counter.\n# TYPE x counter\nx 3\n"
                                    "y{site=\"a b\",role=\"shield\"} 1.5\nbad\nz notanumber\nlast 7");
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 3);
    assert_true(num(o, "x") == 3);
    assert_true(num(o, "y{site=\"a b\",role=\"shield\"}") == 1.5);
    assert_true(num(o, "last") == 7);
    json_decref(o);
}

/* Regression: a line longer than the parser's buffer was cut, and the cut
 * text gave a sample with a wrong name and value (here: `y{v="a` = 12). It
 * is skipped; the lines around it still parse. */
static void long_line_skipped(void **st)
{
    size_t pad = 2000;
    char *text = malloc(pad + 64);
    assert_non_null(text);
    int o = sprintf(text, "a 1\ny{v=\"a 12");
    memset(text + o, 'x', pad);
    sprintf(text + o + pad, "\"} 5\nb 2\n");
    json_t *j = cli_metrics_to_json(text);
    free(text);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 2);
    assert_true(num(j, "a") == 1);
    assert_true(num(j, "b") == 2);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_samples),
        cmocka_unit_test(long_line_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
