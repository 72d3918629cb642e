/*
 * hc_config: fills a binary's config struct from one table of hc_opt, with
 * precedence flag > env > alternative env > default, and prints --help
 * from the same table. Owns nothing after it returns: string fields belong
 * to the target struct (hc_config_free). Does not read the environment
 * itself (the caller passes a lookup, getenv in production) and never
 * exits. Called by each binary's main.
 */
#include "hc_config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hc_mem.h"

static void *hc_opt_field(const hc_opt *o, void *target)
{
    return (char *)target + o->offset;
}

static bool hc_parse_long(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool hc_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* Stores text into o's field (replacing an earlier string). Returns false,
 * with a sentence in err naming `source`, when the text does not parse. */
static bool hc_opt_set(const hc_opt *o, void *target, const char *text, const char *source,
                       char *err, size_t errlen)
{
    void *f = hc_opt_field(o, target);
    bool ok = true;
    if (o->type == HC_OPT_STRING) {
        free(*(char **)f);
        *(char **)f = hc_strdup(text);
    } else if (o->type == HC_OPT_INT) {
        ok = hc_parse_long(text, (long *)f);
    } else {
        ok = hc_parse_bool(text, (bool *)f);
    }
    if (!ok)
        snprintf(err, errlen, "%s: invalid %s value '%s' for %s", source,
                 o->type == HC_OPT_INT ? "integer" : "boolean", text, o->name);
    return ok;
}

/* Clears every field, then sets it to its default. String fields are
 * overwritten without being freed (the target is assumed to own nothing
 * yet) and are all valid (NULL or owned) before any default is parsed. */
static bool hc_config_defaults(const hc_opt *opts, size_t n, void *target, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        void *f = hc_opt_field(&opts[i], target);
        if (opts[i].type == HC_OPT_STRING)
            *(char **)f = NULL;
        else if (opts[i].type == HC_OPT_INT)
            *(long *)f = 0;
        else
            *(bool *)f = false;
    }
    for (size_t i = 0; i < n; i++) {
        const hc_opt *o = &opts[i];
        const char *def = o->def ? o->def : (o->type == HC_OPT_STRING ? "" : NULL);
        if (def && !hc_opt_set(o, target, def, "default", err, errlen))
            return false;
    }
    return true;
}

static bool hc_config_env(const hc_opt *opts, size_t n, void *target, hc_getenv_fn getenv_fn,
                          char *err, size_t errlen)
{
    for (size_t i = 0; getenv_fn && i < n; i++) {
        const hc_opt *o = &opts[i];
        const char *name = o->env, *v = o->env ? getenv_fn(o->env) : NULL;
        if (!v && o->alt_env) {
            name = o->alt_env;
            v = getenv_fn(o->alt_env);
        }
        if (v && !hc_opt_set(o, target, v, name, err, errlen))
            return false;
    }
    return true;
}

static const hc_opt *hc_opt_find(const hc_opt *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

/* "--no-<bool>": sets the bool false and returns true; false otherwise. */
static bool hc_config_negated(const hc_opt *opts, size_t n, void *target, const char *name)
{
    if (strncmp(name, "no-", 3) != 0)
        return false;
    const hc_opt *o = hc_opt_find(opts, n, name + 3, strlen(name + 3));
    if (!o || o->type != HC_OPT_BOOL)
        return false;
    *(bool *)hc_opt_field(o, target) = false;
    return true;
}

/* Handles argv[*i]; may consume argv[*i + 1]. Returns OK, HELP or ERROR. */
static hc_config_status hc_config_arg(const hc_opt *opts, size_t n, void *target, int argc,
                                      char **argv, int *i, char *err, size_t errlen)
{
    const char *a = argv[*i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
        return HC_CONFIG_HELP;
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
        return HC_CONFIG_ERROR;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const hc_opt *o = hc_opt_find(opts, n, name, len);
    if (!o && !eq && hc_config_negated(opts, n, target, name))
        return HC_CONFIG_OK;
    if (!o) {
        snprintf(err, errlen, "unknown option '--%.*s' (see --help)", (int)len, name);
        return HC_CONFIG_ERROR;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value && o->type == HC_OPT_BOOL)
        value = "true";
    if (!value && *i + 1 >= argc) {
        snprintf(err, errlen, "option '--%s' needs a value", o->name);
        return HC_CONFIG_ERROR;
    }
    if (!value)
        value = argv[++*i];
    return hc_opt_set(o, target, value, "command line", err, errlen) ? HC_CONFIG_OK
                                                                     : HC_CONFIG_ERROR;
}

/* On HELP or ERROR the target may already hold strings: callers call
 * hc_config_free whatever this returns. */
hc_config_status hc_config_load(const hc_opt *opts, size_t n, void *target, int argc, char **argv,
                                hc_getenv_fn getenv_fn, char *err, size_t errlen)
{
    char scratch[8];
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (!hc_config_defaults(opts, n, target, err, errlen) ||
        !hc_config_env(opts, n, target, getenv_fn, err, errlen))
        return HC_CONFIG_ERROR;
    for (int i = 1; i < argc; i++) {
        hc_config_status st = hc_config_arg(opts, n, target, argc, argv, &i, err, errlen);
        if (st != HC_CONFIG_OK)
            return st;
    }
    return HC_CONFIG_OK;
}

static const char *hc_opt_metavar(const hc_opt *o)
{
    return o->type == HC_OPT_INT ? " N" : o->type == HC_OPT_STRING ? " VALUE" : "";
}

void hc_config_print_help(FILE *out, const char *prog, const char *summary, const hc_opt *opts,
                          size_t n)
{
    fprintf(out, "Usage: %s [options]\n", prog);
    if (summary && *summary)
        fprintf(out, "%s\n", summary);
    fprintf(out, "\nOptions (each also read from the environment; flags win):\n");
    for (size_t i = 0; i < n; i++) {
        const hc_opt *o = &opts[i];
        char flag[96];
        snprintf(flag, sizeof flag, "--%s%s%s", o->type == HC_OPT_BOOL ? "[no-]" : "", o->name,
                 hc_opt_metavar(o));
        fprintf(out, "  %-28s %s\n", flag, o->help ? o->help : "");
        fprintf(out, "  %-28s env %s%s%s; default: %s\n", "", o->env ? o->env : "-",
                o->alt_env ? ", " : "", o->alt_env ? o->alt_env : "",
                o->def && *o->def ? o->def : "(none)");
    }
    fprintf(out, "  %-28s %s\n", "-h, --help", "print this help and exit");
}

void hc_config_free(const hc_opt *opts, size_t n, void *target)
{
    for (size_t i = 0; i < n; i++) {
        if (opts[i].type != HC_OPT_STRING)
            continue;
        char **f = hc_opt_field(&opts[i], target);
        free(*f);
        *f = NULL;
    }
}
