/*
 * Fuzz target: the apps file loader (hc_apps_load_json). Whatever an
 * operator writes must give apps or a clear error, never a crash; a loaded
 * app must be found again by its id and key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hc_apps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hc_apps *apps = hc_apps_new();
    char err[256];
    int n = hc_apps_load_json(apps, (const char *)data, size, err, sizeof(err));
    if (n >= 0) {
        for (size_t i = 0; i < hc_apps_count(apps); i++) {
            const hc_app *a = hc_apps_at(apps, i);
            if (hc_apps_by_id(apps, a->id) != a || hc_apps_by_key(apps, a->key) != a)
                abort();
        }
    }
    hc_apps_free(apps);
    return 0;
}
