/*
 * Fuzz target: hc_query_parse (raw URL query strings from HTTP clients).
 * Checks that every parsed key and value can be looked up again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hc_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hc_query q = HC_QUERY_INIT;
    hc_query_parse(&q, (const char *)data, size);
    for (size_t i = 0; i < q.n; i++) {
        const char *v = hc_query_get(&q, q.items[i].key);
        if (!v)
            abort(); /* a parsed key must be found */
    }
    hc_query_free(&q);
    return 0;
}
