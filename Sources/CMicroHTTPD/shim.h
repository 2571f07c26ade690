#ifndef METRICSKIT_CMICROHTTPD_SHIM_H
#define METRICSKIT_CMICROHTTPD_SHIM_H
// libmicrohttpd (Debian: libmicrohttpd-dev). MHD_start_daemon is variadic and not imported:
// Swift calls MHD_start_daemon_va with a va_list built by withVaList.
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <microhttpd.h>

// MHD_get_connection_info is variadic, so Swift cannot call it: wrappers for what the server reads.
static inline int metricskit_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

static inline void *metricskit_mhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

// Bytes received on a socket and not read yet (ioctl is variadic).
static inline int metricskit_unread_bytes(int fd) {
    int unread = 0;
    return ioctl(fd, FIONREAD, &unread) == 0 ? unread : 0;
}

// The first argument of a log message (libmicrohttpd's error-response message starts with the
// status code), read from a copy so the caller can still format the message.
static inline unsigned metricskit_first_unsigned_argument(va_list arguments) {
    va_list copy;
    va_copy(copy, arguments);
    unsigned value = va_arg(copy, unsigned);
    va_end(copy);
    return value;
}
#endif
