/*
 * hc_clock: monotonic and wall clocks in milliseconds (wall clock also in
 * microseconds). No state.
 */
#ifndef HC_CLOCK_H
#define HC_CLOCK_H

#include <stdint.h>

uint64_t hc_mono_ms(void); /* CLOCK_MONOTONIC */
int64_t hc_wall_ms(void);  /* CLOCK_REALTIME, ms since the Unix epoch */
int64_t hc_wall_us(void);  /* CLOCK_REALTIME, us since the Unix epoch */

#endif
