/* address_limit.h: how many tries one network address may make in a minute, for the calls that
 * carry a password (Auth/Login): a browser's address is known only here, since clinicd sees every
 * call come from the gateway. The daemon's own limit per account (daemon/login_limit.c) still
 * applies behind it. */
#ifndef CLINIC_GATEWAY_ADDRESS_LIMIT_H
#define CLINIC_GATEWAY_ADDRESS_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define ADDRESS_LIMIT_WINDOW_S 60

struct address_limit;

/* A limit of per_minute tries per address, remembering at most `addresses` addresses at once
 * (past that, the one whose minute began longest ago is forgotten). NULL when out of memory. */
struct address_limit *address_limit_new(unsigned per_minute, unsigned addresses);
void address_limit_free(struct address_limit *l);

/* Counts a try from address at now_s (a monotonic clock, seconds). False when the address has
 * used its tries of the current minute; *retry_after_s then says when it may try again. */
bool address_limit_allow(struct address_limit *l, const char *address, int64_t now_s,
                         unsigned *retry_after_s);

#endif
