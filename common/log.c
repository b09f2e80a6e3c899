#include "common/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static _Atomic int g_level = LOG_LVL_INFO;
static int g_syslog;

void log_set_level(enum log_level lvl) { atomic_store(&g_level, (int)lvl); }
enum log_level log_get_level(void) { return (enum log_level)atomic_load(&g_level); }

void log_use_syslog(const char *ident)
{
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    g_syslog = 1;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const char *const names[] = { "err", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) { *out = (enum log_level)i; return 0; }
    return -1;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    static const char *const tag[] = { "error", "warning", "info", "debug" };
    static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    if ((int)lvl > atomic_load(&g_level))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (g_syslog) {
        syslog(prio[lvl], "%s", line);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    /* one fprintf call per line so that threads do not interleave */
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, tag[lvl], line);
}

int log_rl_allow(struct log_rl *rl, uint32_t burst)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    int64_t now = ts.tv_sec;
    int64_t w = atomic_load(&rl->window);
    if (w != now && atomic_compare_exchange_strong(&rl->window, &w, now))
        atomic_store(&rl->count, 0);
    return atomic_fetch_add(&rl->count, 1) < burst;
}
