/* clock.h: the monotonic clock every deadline and duration in the daemon is measured on. */
#ifndef CLINICD_CLOCK_H
#define CLINICD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
