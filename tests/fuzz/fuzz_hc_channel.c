/*
 * Fuzz target: channel-name rules. A name accepted as valid must be within
 * the length limit and must not be a server-only ('#') channel.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hc_channel.h"
#include "hc_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = hc_strndup((const char *)data, size);
    const char *why = NULL;
    bool ok = hc_channel_valid(name, 200, &why);
    if (ok && (strlen(name) > 200 || name[0] == '#'))
        abort();
    if (!ok && !why)
        abort(); /* a refusal always says why */
    (void)hc_channel_type_name(hc_channel_type_of(name));
    (void)hc_channel_is_cache(name);
    free(name);
    return 0;
}
