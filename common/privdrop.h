/* common/privdrop.h: dropping root to an unprivileged user, and the checks
 * that make a drop safe to operate.
 *
 * Owns the order of the credential calls. A daemon started as root binds
 * what needs root (port 53, port 80/443, TLS keys readable only by root),
 * then calls privdrop_apply(): supplementary groups from the user database
 * (initgroups), then the group (setresgid), then the user (setresuid),
 * real, effective and saved IDs alike, so nothing can switch back; finally
 * it verifies that setuid(0) and setgid(0) fail and that all four IDs are
 * the user's. Groups before the user because after setuid the process may
 * no longer change its groups. glibc applies set*id to every thread of the
 * process (the setxid broadcast), but daemons still drop before starting
 * their worker threads, so no thread ever runs as root with external input.
 *
 * The checks after the drop (privdrop_check_*) run as the user and turn a
 * later "permission denied" on a state file or cache directory (minutes or
 * days later, at the first write) into an error at startup naming the file.
 *
 * Rejected: keeping CAP_NET_BIND_SERVICE across the drop (PR_SET_KEEPCAPS +
 * capset) so listeners could be re-bound on reload. It needs more code that
 * is easy to get wrong, and systemd's AmbientCapabilities= already offers
 * that to operators who want it (dist/ units run that way, without -u).
 *
 * Main thread only, at startup. */
#ifndef STEER_COMMON_PRIVDROP_H
#define STEER_COMMON_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

#define PRIVDROP_NAME_MAX 64

enum privdrop_result {
    PRIVDROP_OK = 0,
    PRIVDROP_ERR = -1,   /* reason in err */
};

struct privdrop_user {
    char name[PRIVDROP_NAME_MAX];
    uid_t uid;
    gid_t gid;           /* the user's primary group */
};

/* Looks the user `name` up in the user database (getpwnam: /etc/passwd,
 * NSS). Call before the drop. Returns PRIVDROP_OK with *out, or
 * PRIVDROP_ERR with err (unknown user, uid 0, name too long). */
int privdrop_lookup(const char *name, struct privdrop_user *out, char *err, size_t errlen);

/* Switches the process to u (see the header comment). Running as root is
 * required, except that a process already running as exactly u succeeds
 * without doing anything. Returns PRIVDROP_OK, or PRIVDROP_ERR with err; on
 * error the caller must exit (the credentials may be half changed). */
int privdrop_apply(const struct privdrop_user *u, char *err, size_t errlen);

/* For a file written later with the write-temporary-then-rename pattern:
 * the directory must exist and be writable and searchable, and an existing
 * file readable and writable. `what` names it in the error ("health.
 * state_file"). Returns PRIVDROP_OK or PRIVDROP_ERR with err. */
int privdrop_check_file_writable(const char *what, const char *path, char *err, size_t errlen);

/* A directory the process creates files in (a disk cache): it must exist
 * and be readable, writable and searchable. */
int privdrop_check_dir_writable(const char *what, const char *dir, char *err, size_t errlen);

/* A file the process re-reads later (config, zones on reload). */
int privdrop_check_readable(const char *what, const char *path, char *err, size_t errlen);

/* The lowest TCP/UDP port an unprivileged process may bind:
 * net.ipv4.ip_unprivileged_port_start (1024 when it cannot be read). */
unsigned privdrop_unprivileged_port_start(void);

#endif
