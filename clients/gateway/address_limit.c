/* address_limit.c: tries per address per minute (address_limit.h). A fixed table searched
 * linearly: a few thousand entries, touched only by calls that carry a password. */
#include "address_limit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char address[64]; /* "" when free */
    int64_t window_start_s;
    unsigned tries;
};

struct address_limit {
    pthread_mutex_t mu;
    unsigned per_minute;
    unsigned n;
    struct entry *entries;
};

struct address_limit *address_limit_new(unsigned per_minute, unsigned addresses)
{
    struct address_limit *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->entries = calloc(addresses ? addresses : 1, sizeof *l->entries);
    if (!l->entries) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->per_minute = per_minute;
    l->n = addresses ? addresses : 1;
    return l;
}

void address_limit_free(struct address_limit *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->entries);
    free(l);
}

/* Whether entry e is a better one to reuse than r: a free one, else the oldest minute. */
static bool better_to_reuse(const struct entry *e, const struct entry *r)
{
    if (!r->address[0])
        return false;
    return !e->address[0] || e->window_start_s < r->window_start_s;
}

/* The address's entry, or the one to reuse for it (l->n is at least 1). */
static struct entry *entry_for(struct address_limit *l, const char *address)
{
    struct entry *reuse = &l->entries[0];
    for (unsigned i = 0; i < l->n; i++) {
        struct entry *e = &l->entries[i];
        if (strcmp(e->address, address) == 0)
            return e;
        if (better_to_reuse(e, reuse))
            reuse = e;
    }
    snprintf(reuse->address, sizeof reuse->address, "%s", address);
    reuse->tries = 0;
    reuse->window_start_s = INT64_MIN;
    return reuse;
}

bool address_limit_allow(struct address_limit *l, const char *address, int64_t now_s,
                         unsigned *retry_after_s)
{
    pthread_mutex_lock(&l->mu);
    struct entry *e = entry_for(l, address);
    if (e->window_start_s == INT64_MIN || now_s - e->window_start_s >= ADDRESS_LIMIT_WINDOW_S) {
        e->window_start_s = now_s;
        e->tries = 0;
    }
    bool allowed = e->tries < l->per_minute;
    if (allowed)
        e->tries++;
    else
        *retry_after_s = (unsigned)(e->window_start_s + ADDRESS_LIMIT_WINDOW_S - now_s);
    pthread_mutex_unlock(&l->mu);
    return allowed;
}
