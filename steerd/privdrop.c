/* steerd/privdrop.c: steerd's privilege drop (see privdrop.h). */
#include "steerd/privdrop.h"

#include <stdio.h>
#include <unistd.h>

#include "geo/geo.h"

/* A listener bound after the drop must not need root. */
static int check_port(const char *key, unsigned port, unsigned start, const char *user, char *err, size_t errlen)
{
    if (port == 0 || port >= start)
        return PRIVDROP_OK;
    snprintf(err, errlen,
             "%s: port %u needs root, but with user %s it is bound after the drop (use a port >= %u, "
             "or run without -u under systemd's AmbientCapabilities=CAP_NET_BIND_SERVICE)",
             key, port, user, start);
    return PRIVDROP_ERR;
}

int steerd_privdrop(const struct privdrop_user *u, const char *config_path, const struct snapshot *s,
                    const struct control_config *cc, char *err, size_t errlen)
{
    /* already the user (systemd User=, maybe with CAP_NET_BIND_SERVICE):
     * nothing changes, so no listener is bound with fewer rights than now */
    unsigned start = geteuid() == u->uid ? 0 : privdrop_unprivileged_port_start();
    if ((cc->configured && check_port("control.listen", cc->port, start, u->name, err, errlen) < 0) ||
        (s->rum_cfg && s->rum_cfg->configured &&
         check_port("rum.listen", s->rum_cfg->port, start, u->name, err, errlen) < 0))
        return PRIVDROP_ERR;
    if (privdrop_apply(u, err, errlen) < 0)
        return PRIVDROP_ERR;
    /* from here on as the user */
    if (s->health && s->health->state_file[0] &&
        privdrop_check_file_writable("health.state_file", s->health->state_file, err, errlen) < 0)
        return PRIVDROP_ERR;
    if (s->rum_cfg && s->rum_cfg->configured && s->rum_cfg->state_file[0] &&
        privdrop_check_file_writable("rum.state_file", s->rum_cfg->state_file, err, errlen) < 0)
        return PRIVDROP_ERR;
    if (privdrop_check_readable("configuration file", config_path, err, errlen) < 0)
        return PRIVDROP_ERR;
    for (size_t i = 0; i < s->cfg.nzones; i++)
        if (privdrop_check_readable("zone file", s->cfg.zones[i].file, err, errlen) < 0)
            return PRIVDROP_ERR;
    if (cc->configured && privdrop_check_readable("control.token_file", cc->token_file, err, errlen) < 0)
        return PRIVDROP_ERR;
    for (size_t i = 0; s->health && i < s->health->nchecks; i++)
        if (s->health->checks[i].ca_file[0] &&
            privdrop_check_readable("health check ca_file", s->health->checks[i].ca_file, err, errlen) < 0)
            return PRIVDROP_ERR;
    const struct geo_set *g = s->policy ? steer_policy_geo(s->policy) : NULL;
    for (size_t i = 0; g && i < geo_set_db_count(g); i++)
        if (privdrop_check_readable("geo database", geo_set_db_path(g, i), err, errlen) < 0)
            return PRIVDROP_ERR;
    return PRIVDROP_OK;
}
