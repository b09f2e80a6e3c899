#include "health/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"

#define STATE_FILE_MAX (8u * 1024 * 1024)   /* 100k lines of ~60 bytes */

void health_overrides_init(struct health_overrides *o)
{
    memset(o, 0, sizeof *o);
}

void health_overrides_free(struct health_overrides *o)
{
    free(o->v);
    memset(o, 0, sizeof *o);
}

const char *prov_admin_name(uint8_t admin)
{
    switch (admin) {
    case ADMIN_NONE: return "none";
    case ADMIN_FORCE_UP: return "up";
    case ADMIN_FORCE_DOWN: return "down";
    case ADMIN_DRAIN: return "drain";
    default: return "?";
    }
}

int prov_admin_parse(const char *s, uint8_t *out)
{
    static const uint8_t all[] = { ADMIN_NONE, ADMIN_FORCE_UP, ADMIN_FORCE_DOWN, ADMIN_DRAIN };
    for (size_t i = 0; i < sizeof all; i++)
        if (strcmp(s, prov_admin_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

const struct health_override *health_overrides_get(const struct health_overrides *o, const char *provider)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].provider, provider) == 0)
            return &o->v[i];
    return NULL;
}

int health_overrides_set(struct health_overrides *o, const char *provider, uint8_t admin, uint32_t weight)
{
    struct health_override *e = (struct health_override *)health_overrides_get(o, provider);
    if (admin == ADMIN_NONE && weight == PROV_WEIGHT_NONE) {
        if (e)
            *e = o->v[--o->n];
        return 0;
    }
    if (!e) {
        if (o->n >= HEALTH_OVERRIDES_MAX || strlen(provider) >= HC_NAME_MAX)
            return -1;
        if (o->n == o->cap) {
            size_t cap = o->cap ? o->cap * 2 : 8;
            struct health_override *v = realloc(o->v, cap * sizeof *v);
            if (!v)
                return -1;
            o->v = v;
            o->cap = cap;
        }
        e = &o->v[o->n++];
        snprintf(e->provider, sizeof e->provider, "%s", provider);
    }
    e->admin = admin;
    e->weight = weight;
    return 0;
}

/* ---- parse ----------------------------------------------------------- */

/* Splits a line into at most `max` whitespace-separated fields. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == max)
            return max + 1;
        f[n++] = t;
    }
    return n;
}

static int parse_line(struct health_overrides *o, char *line, const char **why)
{
    char *f[7];
    int n = split(line, f, 6);
    uint8_t admin;
    uint64_t w = PROV_WEIGHT_NONE;
    if (n == 0 || f[0][0] == '#')
        return 0;
    if (n != 6 || strcmp(f[0], "provider") || strcmp(f[2], "admin") || strcmp(f[4], "weight")) {
        *why = "expected 'provider NAME admin STATE weight N|-'";
        return -1;
    }
    if (!health_name_valid(f[1])) {
        *why = "bad provider name";
        return -1;
    }
    if (prov_admin_parse(f[3], &admin) < 0) {
        *why = "admin must be none, up, down or drain";
        return -1;
    }
    if (strcmp(f[5], "-") != 0 && parse_u64(f[5], 0, HEALTH_WEIGHT_MAX, &w) < 0) {
        *why = "weight must be 0..1000000 or -";
        return -1;
    }
    if (health_overrides_get(o, f[1])) {
        *why = "duplicate provider";
        return -1;
    }
    if (health_overrides_set(o, f[1], admin, (uint32_t)w) < 0) {
        *why = "too many overrides";
        return -1;
    }
    return 0;
}

int health_overrides_parse(struct health_overrides *o, const char *name, const char *text, size_t len,
                           char *err, size_t errsz)
{
    struct health_overrides tmp;
    char line[HEALTH_STATE_LINE_MAX];
    size_t pos = 0;
    unsigned lineno = 0;
    health_overrides_init(&tmp);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *why = NULL;
        lineno++;
        if (l >= sizeof line)
            why = "line too long";
        else if (memchr(text + pos, '\0', l))
            why = "NUL character";
        if (!why) {
            memcpy(line, text + pos, l);
            line[l] = '\0';
            parse_line(&tmp, line, &why);
        }
        if (why) {
            snprintf(err, errsz, "%s:%u: %s", name, lineno, why);
            health_overrides_free(&tmp);
            return -1;
        }
        pos += l + (nl ? 1 : 0);
    }
    health_overrides_free(o);
    *o = tmp;
    return 0;
}

int health_overrides_load(struct health_overrides *o, const char *path, char *err, size_t errsz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            health_overrides_free(o);
            return 0;
        }
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > STATE_FILE_MAX) {
        snprintf(err, errsz, "%s: not a regular file or larger than %u bytes", path, STATE_FILE_MAX);
        close(fd);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf) {
        snprintf(err, errsz, "%s: out of memory", path);
        return -1;
    }
    int rc = health_overrides_parse(o, path, buf, got, err, errsz);
    free(buf);
    return rc;
}

/* ---- save ------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir(const char *path)
{
    char dir[HC_FILE_MAX + 8];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);   /* best effort: the rename is already atomic */
        close(fd);
    }
}

int health_overrides_save(const struct health_overrides *o, const char *path, char *err, size_t errsz)
{
    char tmp[HC_FILE_MAX + 32];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errsz, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_all(fd, "# steer health overrides v1\n", 28);
    for (size_t i = 0; rc == 0 && i < o->n; i++) {
        char line[HEALTH_STATE_LINE_MAX], w[16];
        const struct health_override *e = &o->v[i];
        if (e->weight == PROV_WEIGHT_NONE)
            snprintf(w, sizeof w, "-");
        else
            snprintf(w, sizeof w, "%u", e->weight);
        int n = snprintf(line, sizeof line, "provider %s admin %s weight %s\n", e->provider,
                         prov_admin_name(e->admin), w);
        rc = write_all(fd, line, (size_t)n);
    }
    if (rc == 0)
        rc = fsync(fd);
    int saved = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -1;
        saved = errno;
    }
    if (rc < 0) {
        unlink(tmp);
        snprintf(err, errsz, "%s: %s", path, strerror(saved));
        return -1;
    }
    fsync_dir(path);
    return 0;
}
