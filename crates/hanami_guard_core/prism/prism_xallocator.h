/*
 * Prism's allocator in hanami_guard: the four functions are defined in Rust, in
 * crates/hanami_guard_core/src/audit/prism_alloc.rs (an arena per audit worker thread, emptied
 * after each file). Prism includes this header when it is compiled with -DPRISM_XALLOCATOR,
 * which .cargo/config.toml sets.
 */
#ifndef PRISM_XALLOCATOR_H
#define PRISM_XALLOCATOR_H

#include <stddef.h>

void *hanami_guard_prism_malloc(size_t size);
void *hanami_guard_prism_calloc(size_t count, size_t size);
void *hanami_guard_prism_realloc(void *block, size_t size);
void hanami_guard_prism_free(void *block);

#define xmalloc hanami_guard_prism_malloc
#define xcalloc hanami_guard_prism_calloc
#define xrealloc hanami_guard_prism_realloc
#define xfree hanami_guard_prism_free

#endif
