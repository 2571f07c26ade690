#ifndef CMALLOCINFO_H
#define CMALLOCINFO_H

#include <stddef.h>

/// Bytes of heap in use: glibc mallinfo2()'s uordblks (allocated chunks, headers included)
/// plus hblkhd (blocks obtained with mmap). 0 where mallinfo2() is not available.
size_t cmallocinfo_heap_in_use(void);

#endif
