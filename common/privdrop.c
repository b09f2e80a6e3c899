/* common/privdrop.c: dropping root to an unprivileged user (see privdrop.h). */
#include "common/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* getpwnam_r's string buffer: a passwd line is far below this (shells and
 * home directories are paths, names are short); ERANGE is reported. */
#define PW_BUF 4096

/* ------------------------------------------------------------ helpers */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return PRIVDROP_ERR;
}

/* The directory part of path ("." for a bare name). */
static void dir_of(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, size, ".");
    else if (slash == path)
        snprintf(out, size, "/");
    else
        snprintf(out, size, "%.*s", (int)(slash - path), path);
}

/* --------------------------------------------------------------- API */

int privdrop_lookup(const char *name, struct privdrop_user *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof out->name)
        return fail(err, errlen, "user name '%s' is empty or longer than %d characters", name,
                    PRIVDROP_NAME_MAX - 1);
    struct passwd pw, *res = NULL;
    char buf[PW_BUF];
    int rc = getpwnam_r(name, &pw, buf, sizeof buf, &res);
    if (rc != 0)
        return fail(err, errlen, "looking up user '%s': %s", name, strerror(rc));
    if (!res)
        return fail(err, errlen, "no such user '%s' (create it, e.g. useradd --system --no-create-home "
                                 "--shell /usr/sbin/nologin %s)", name, name);
    if (pw.pw_uid == 0)
        return fail(err, errlen, "user '%s' is root (uid 0): that drops nothing", name);
    memcpy(out->name, name, n + 1);
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
    return PRIVDROP_OK;
}

int privdrop_apply(const struct privdrop_user *u, char *err, size_t errlen)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    if (ruid == u->uid && euid == u->uid && suid == u->uid && rgid == u->gid && egid == u->gid && sgid == u->gid)
        return PRIVDROP_OK;   /* already that user (started by systemd's User=, say) */
    if (euid != 0)
        return fail(err, errlen, "cannot switch to user %s: not running as root (uid %u)", u->name,
                    (unsigned)euid);
    /* groups first: once the uid is not 0 they cannot be changed any more */
    if (initgroups(u->name, u->gid) < 0)
        return fail(err, errlen, "initgroups(%s): %s", u->name, strerror(errno));
    if (setresgid(u->gid, u->gid, u->gid) < 0)
        return fail(err, errlen, "setgid(%u): %s", (unsigned)u->gid, strerror(errno));
    if (setresuid(u->uid, u->uid, u->uid) < 0)
        return fail(err, errlen, "setuid(%u): %s", (unsigned)u->uid, strerror(errno));
    /* verify: no way back to root, and all IDs are the user's */
    if (setuid(0) != -1 || setgid(0) != -1)
        return fail(err, errlen, "dropped to %s but could regain root", u->name);
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    if (ruid != u->uid || euid != u->uid || suid != u->uid || rgid != u->gid || egid != u->gid ||
        sgid != u->gid)
        return fail(err, errlen, "dropped to %s but the process IDs are not all %u:%u", u->name,
                    (unsigned)u->uid, (unsigned)u->gid);
#if defined(__SANITIZE_ADDRESS__)
    /* Changing credentials makes the process non-dumpable, and LeakSanitizer
     * then cannot attach its stop-the-world tracer at exit. Sanitizer builds
     * only: release builds stay non-dumpable (no core files with secrets). */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    return PRIVDROP_OK;
}

int privdrop_check_file_writable(const char *what, const char *path, char *err, size_t errlen)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    struct stat st;
    if (stat(dir, &st) < 0)
        return fail(err, errlen, "%s %s: directory %s: %s", what, path, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(err, errlen, "%s %s: %s is not a directory", what, path, dir);
    uid_t uid = geteuid();
    /* the file is replaced by a temporary written next to it, then renamed */
    if (access(dir, W_OK | X_OK) < 0)
        return fail(err, errlen, "%s %s: directory %s is not writable by uid %u (%s)", what, path, dir,
                    (unsigned)uid, strerror(errno));
    if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) < 0)
        return fail(err, errlen, "%s %s is not readable and writable by uid %u (%s)", what, path,
                    (unsigned)uid, strerror(errno));
    return PRIVDROP_OK;
}

int privdrop_check_dir_writable(const char *what, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return fail(err, errlen, "%s %s: %s", what, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(err, errlen, "%s %s: not a directory", what, dir);
    if (access(dir, R_OK | W_OK | X_OK) < 0)
        return fail(err, errlen, "%s %s is not writable by uid %u (%s)", what, dir, (unsigned)geteuid(),
                    strerror(errno));
    return PRIVDROP_OK;
}

int privdrop_check_readable(const char *what, const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) < 0)
        return fail(err, errlen, "%s %s is not readable by uid %u (%s)", what, path, (unsigned)geteuid(),
                    strerror(errno));
    return PRIVDROP_OK;
}

unsigned privdrop_unprivileged_port_start(void)
{
    unsigned v = 1024;   /* the kernel default, and the traditional rule */
    FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
    if (f) {
        unsigned x;
        if (fscanf(f, "%u", &x) == 1 && x <= 65536)
            v = x;
        fclose(f);
    }
    return v;
}
