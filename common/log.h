/* common/log.h: process-wide logging to stderr (or syslog).
 * Owns the log level and sink. Never called per query on the hot path except
 * through log_ratelimited(), which drops messages beyond a per-site budget. */
#ifndef STEER_LOG_H
#define STEER_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Send logs to syslog(3) with the given ident instead of stderr. */
void log_use_syslog(const char *ident);
/* Parses "err|warn|info|debug"; returns -1 on an unknown name. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

/* A rate limit for one log site: at most `burst` messages per second. */
struct log_rl { _Atomic int64_t window; _Atomic uint32_t count; };
int log_rl_allow(struct log_rl *rl, uint32_t burst);
#define log_ratelimited(lvl, ...) do { \
    static struct log_rl rl__; \
    if (log_rl_allow(&rl__, 5)) log_msg(lvl, __VA_ARGS__); } while (0)

#endif
