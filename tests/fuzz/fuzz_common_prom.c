/* tests/fuzz/fuzz_common_prom.c: label values and HELP text from arbitrary
 * bytes. Invariants: a label set never overflows, a refused label leaves
 * the set unchanged, an accepted value unescapes back to the input, and the
 * output never holds a raw newline or an unescaped quote inside a value
 * (either would break the exposition for every scraper). */
#include <assert.h>
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"

/* Unescapes the value of the last label ("key=\"...\"") in l; returns its length. */
static size_t last_value(const struct prom_labels *l, size_t start, char *out)
{
    const char *p = l->buf + start;
    p = strchr(p, '"');
    assert(p);
    p++;
    size_t n = 0;
    for (; *p != '"'; p++) {
        assert(*p != '\n' && *p);
        if (*p == '\\') {
            p++;
            assert(*p == '\\' || *p == '"' || *p == 'n');
            out[n++] = *p == 'n' ? '\n' : *p;
        } else {
            out[n++] = *p;
        }
    }
    assert(p[1] == '\0');   /* the value closes the set */
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1);
    char *back = malloc(2 * size + 2);
    if (!v || !back) {
        free(v);
        free(back);
        return 0;
    }
    memcpy(v, data, size);
    v[size] = '\0';                  /* values are C strings: stop at the first NUL */
    size_t vl = strlen(v);
    struct prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "first", "x");
    for (int round = 0; round < 3; round++) {
        struct prom_labels before = l;
        size_t start = l.len;
        if (prom_label(&l, "k", v) < 0) {
            assert(l.len == before.len && !memcmp(l.buf, before.buf, l.len + 1));
            break;
        }
        assert(l.len < sizeof l.buf && l.buf[l.len] == '\0');
        assert(last_value(&l, start, back) == vl && !memcmp(back, v, vl));
    }
    struct evbuffer *b = evbuffer_new();
    if (b) {
        prom_family(b, "f_total", PROM_COUNTER, v);
        prom_u64(b, "f_total", &l, 1);
        size_t n = evbuffer_get_length(b);
        const char *t = (const char *)evbuffer_pullup(b, -1);
        size_t lines = 0;
        for (size_t i = 0; i < n; i++)
            lines += t[i] == '\n';
        assert(lines == 3);          /* HELP, TYPE, sample: no raw newline leaked */
        evbuffer_free(b);
    }
    free(v);
    free(back);
    return 0;
}
