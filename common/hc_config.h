/*
 * hc_config: one declarative table drives flags, environment and --help.
 *
 * Each binary describes its settings as an array of hc_opt (name, env var,
 * optional alternative env var such as Soketi's, type, default, help, and
 * the offset of the field it fills in the binary's own config struct).
 * Precedence: flag > HERALD_* env > alternative env > default. Parsing is
 * pure: the environment comes through a lookup function, so tests pass
 * their own. String fields are heap copies owned by the target struct
 * (free with hc_config_free).
 */
#ifndef HC_CONFIG_H
#define HC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { HC_OPT_STRING, HC_OPT_INT, HC_OPT_BOOL } hc_opt_type;

typedef struct hc_opt {
    const char *name;    /* long flag without "--", e.g. "port" */
    const char *env;     /* e.g. "HERALD_PORT"; may be NULL */
    const char *alt_env; /* e.g. "SOKETI_PORT"; may be NULL */
    hc_opt_type type;
    const char *def; /* default as text; NULL = empty string / 0 / false */
    const char *help;
    size_t offset; /* offsetof(target struct, field): char *, long, or bool */
} hc_opt;

typedef const char *(*hc_getenv_fn)(const char *name);

typedef enum { HC_CONFIG_OK = 0, HC_CONFIG_HELP = 1, HC_CONFIG_ERROR = -1 } hc_config_status;

/* Fills target from defaults, env (via getenv_fn, may be NULL for none)
 * and argv (argv[0] is the program). Accepts "--name value", "--name=value"
 * and, for bools, "--name" / "--no-name". "-h"/"--help" gives
 * HC_CONFIG_HELP. On error writes a sentence to err (naming the flag or
 * environment variable at fault). The target's previous field values are
 * ignored (not freed); call hc_config_free afterwards whatever the result. */
hc_config_status hc_config_load(const hc_opt *opts, size_t n, void *target, int argc, char **argv,
                                hc_getenv_fn getenv_fn, char *err, size_t errlen);
void hc_config_print_help(FILE *out, const char *prog, const char *summary, const hc_opt *opts,
                          size_t n);
/* Frees the string fields hc_config_load set. */
void hc_config_free(const hc_opt *opts, size_t n, void *target);

#endif
