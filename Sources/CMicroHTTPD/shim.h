#ifndef METRICSKIT_CMICROHTTPD_SHIM_H
#define METRICSKIT_CMICROHTTPD_SHIM_H
// libmicrohttpd (Debian: libmicrohttpd-dev). MHD_start_daemon is variadic and not imported:
// Swift calls MHD_start_daemon_va with a va_list built by withVaList.
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>

// MHD_get_daemon_info is variadic, so Swift cannot call it: the bound port through a wrapper.
static inline uint16_t metricskit_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}
#endif
