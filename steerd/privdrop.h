/* steerd/privdrop.h: steerd's privilege drop (-u USER / server.user).
 *
 * Owns what steerd binds before and after the drop and the files it checks
 * as the user. Order in main: DNS sockets bound as root (port 53), then
 * steerd_privdrop(), then everything that starts threads or writes files
 * runs as the user: the health engine (state file), the RUM collector
 * (listener, state file), the control API (listener). The RUM listener is
 * bound again on every reload and the control listener could not be bound
 * before the health engine exists, so both must use unprivileged ports with
 * -u; that is checked here before anything changes. Reloads re-read the
 * config, the zone files, the geo databases and the token file as the user,
 * and https health checks read their ca_file: all are checked for
 * readability too, so a reload does not fail days later. Changing DNS
 * listen addresses always needs a restart (see reload_locked). The credential
 * calls themselves are common/privdrop.h. */
#ifndef STEER_STEERD_PRIVDROP_H
#define STEER_STEERD_PRIVDROP_H

#include <stddef.h>

#include "common/privdrop.h"
#include "control/config.h"
#include "steerd/snapshot.h"

/* Checks the listeners bound after the drop (refused on a privileged port),
 * switches to u, then checks as u the state files (writable) and the config,
 * zone, geo database, token and CA files (readable). Returns PRIVDROP_OK or PRIVDROP_ERR with
 * a message naming the file or key in err; on error steerd exits. */
int steerd_privdrop(const struct privdrop_user *u, const char *config_path, const struct snapshot *s,
                    const struct control_config *cc, char *err, size_t errlen);

#endif
