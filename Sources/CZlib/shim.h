#ifndef METRICSKIT_CZLIB_SHIM_H
#define METRICSKIT_CZLIB_SHIM_H
// zlib (Debian: zlib1g-dev), for gzip-compressed /metrics bodies.
#include <zlib.h>

// deflateInit2 is a macro over deflateInit2_; this wrapper makes it callable from Swift.
static inline int metricskit_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
