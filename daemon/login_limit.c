/* login_limit.c: a fixed table of addresses with their failures in the current window. Bounded
 * memory (LOGIN_LIMIT_ADDRESSES x ~90 bytes); a mutex, held for a scan of the table, guards it:
 * cheap beside the Argon2id work every login does. */
#include "login_limit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define WINDOW_US ((int64_t)LOGIN_LIMIT_WINDOW_MINUTES * 60 * 1000000)

struct address_failures {
    char addr[LOGIN_LIMIT_ADDRESS_MAX]; /* "": the slot is free */
    int failures;                       /* within the window that began at window_start_us */
    int64_t window_start_us;
    int64_t last_us; /* the last failure: the stalest address is forgotten first */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct address_failures table[LOGIN_LIMIT_ADDRESSES];
static int failure_limit;

void login_limit_configure(int limit)
{
    pthread_mutex_lock(&lock);
    failure_limit = limit;
    pthread_mutex_unlock(&lock);
}

static struct address_failures *find(const char *addr)
{
    for (size_t i = 0; i < LOGIN_LIMIT_ADDRESSES; i++)
        if (table[i].addr[0] && strcmp(table[i].addr, addr) == 0)
            return &table[i];
    return NULL;
}

/* A free slot, or the one whose last failure is oldest. */
static struct address_failures *make_room(void)
{
    struct address_failures *stalest = &table[0];
    for (size_t i = 0; i < LOGIN_LIMIT_ADDRESSES; i++) {
        if (!table[i].addr[0])
            return &table[i];
        if (table[i].last_us < stalest->last_us)
            stalest = &table[i];
    }
    return stalest;
}

bool login_limit_allows(const char *addr, int64_t now_us, int *minutes_left)
{
    pthread_mutex_lock(&lock);
    const struct address_failures *a = failure_limit > 0 ? find(addr) : NULL;
    bool allowed = !a || now_us - a->window_start_us >= WINDOW_US || a->failures < failure_limit;
    if (!allowed) {
        int64_t left_us = a->window_start_us + WINDOW_US - now_us;
        *minutes_left = (int)((left_us + 60 * 1000000 - 1) / (60 * 1000000));
    }
    pthread_mutex_unlock(&lock);
    return allowed;
}

bool login_limit_failed(const char *addr, int64_t now_us)
{
    bool reached = false;
    pthread_mutex_lock(&lock);
    if (failure_limit > 0) {
        struct address_failures *a = find(addr);
        if (!a) {
            a = make_room();
            *a = (struct address_failures){.window_start_us = now_us};
            snprintf(a->addr, sizeof a->addr, "%s", addr);
        }
        if (now_us - a->window_start_us >= WINDOW_US) {
            a->window_start_us = now_us;
            a->failures = 0;
        }
        a->failures++;
        a->last_us = now_us;
        reached = a->failures == failure_limit;
    }
    pthread_mutex_unlock(&lock);
    return reached;
}

void login_limit_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(table, 0, sizeof table);
    pthread_mutex_unlock(&lock);
}
