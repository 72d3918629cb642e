/*
 * hc_mem: the one out-of-memory policy of the code base.
 *
 * Every allocation in Herald goes through these wrappers. On failure they
 * print a clear message and abort (as redis and h2o do): memory is bounded
 * by limits on connections, queues and payloads, not by checks at every
 * call site. Used by every module; does no other I/O.
 */
#ifndef HC_MEM_H
#define HC_MEM_H

#include <stddef.h>

void *hc_malloc(size_t n);
void *hc_calloc(size_t count, size_t size);
void *hc_realloc(void *p, size_t n);
char *hc_strdup(const char *s);
/* Copies n bytes of s and adds a NUL. */
char *hc_strndup(const char *s, size_t n);

#endif
