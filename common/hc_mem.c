/*
 * hc_mem: the allocation wrappers that carry Herald's one out-of-memory
 * policy: print what failed and abort. Owns no state and does no other I/O.
 * Called by every module instead of malloc/calloc/realloc/strdup.
 */
#include "hc_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hc_oom(size_t n)
{
    fprintf(stderr, "herald: out of memory allocating %zu bytes, aborting\n", n);
    fflush(stderr);
    abort();
}

/* Returns n bytes (at least 1) owned by the caller; never NULL. */
void *hc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        hc_oom(n);
    return p;
}

/* Returns zeroed memory owned by the caller; never NULL. */
void *hc_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        hc_oom(count * size);
    return p;
}

/* Resizes p (may be NULL); returns the new block; never NULL. */
void *hc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        hc_oom(n);
    return q;
}

/* Returns a caller-owned copy of the NUL-terminated s. */
char *hc_strdup(const char *s)
{
    return hc_strndup(s, strlen(s));
}

/* Returns a caller-owned copy of s[0..n) plus a NUL. */
char *hc_strndup(const char *s, size_t n)
{
    char *p = hc_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
