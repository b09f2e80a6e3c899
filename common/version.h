/* common/version.h: the steer release version, defined in this one place.
 *
 * Every program prints it for --version (steerd, edged, steerctl) and steerd
 * reports it in the control API's /v1/status; tests/integration/
 * hygiene_help.sh checks that they all agree with this line. */
#ifndef STEER_COMMON_VERSION_H
#define STEER_COMMON_VERSION_H

#define STEER_VERSION "0.1.0"

#endif
