/* Per-client token buckets (server.h "ratelimit.c"): how often one client
 * may ask for an attestation quote or try a password.
 *
 * A bucket holds up to `burst` tokens and refills at per_minute / 60 tokens
 * a second; a request takes one. Clients are keyed by address, IPv6 ones by
 * their /64 prefix (a host usually owns a whole /64 and could otherwise
 * rotate addresses to get fresh buckets). The table is bounded: when it is
 * full, a bucket that has refilled completely (an idle client: forgetting
 * it changes nothing) is reused; when none has, a new client shares one
 * overflow bucket with every other client that found the table full.
 * (Taking the least recently seen bucket instead let a client rotating
 * through more addresses than the table holds -- an IPv6 /48 has 65536
 * /64s -- find a full bucket at every turn.) */
#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "server/server.h"

enum { RL_MAX_CLIENTS = 4096, RL_KEY_MAX = 64 };

typedef struct rl_bucket {
    char key[RL_KEY_MAX];
    double tokens;
    uint64_t last_ns;
} rl_bucket;

struct ccai_ratelimit {
    pthread_mutex_t mu;
    double rate_per_ns, burst;
    rl_bucket *b;
    size_t n;
    rl_bucket overflow; /* shared by the clients that found the table full */
};

uint64_t ccai_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ccai_ratelimit *ccai_ratelimit_new(double per_minute, double burst)
{
    ccai_ratelimit *rl = ccai_xcalloc(1, sizeof *rl);
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate_per_ns = (per_minute > 0 ? per_minute : 1) / 60e9;
    rl->burst = burst >= 1 ? burst : 1;
    rl->b = ccai_xcalloc(RL_MAX_CLIENTS, sizeof *rl->b);
    rl->overflow.tokens = rl->burst;
    return rl;
}

void ccai_ratelimit_free(ccai_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->b);
    free(rl);
}

/* The bucket key: the address itself, or an IPv6 address's /64. */
static void client_key(const char *client, char key[RL_KEY_MAX])
{
    struct in6_addr a6;
    if (client && strchr(client, ':') && inet_pton(AF_INET6, client, &a6) == 1 &&
        !IN6_IS_ADDR_V4MAPPED(&a6)) {
        memset(a6.s6_addr + 8, 0, 8);
        char txt[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &a6, txt, sizeof txt)) {
            snprintf(key, RL_KEY_MAX, "%s/64", txt);
            return;
        }
    }
    snprintf(key, RL_KEY_MAX, "%s", client ? client : "");
}

static void refill(const ccai_ratelimit *rl, rl_bucket *b, uint64_t now_ns)
{
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * rl->rate_per_ns;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
    }
    b->last_ns = now_ns;
}

/* Under rl->mu: the client's bucket, made (full) when it has none. */
static rl_bucket *find_bucket(ccai_ratelimit *rl, const char *key, uint64_t now_ns)
{
    for (size_t i = 0; i < rl->n; i++)
        if (strcmp(rl->b[i].key, key) == 0)
            return &rl->b[i];
    rl_bucket *slot = NULL;
    if (rl->n < RL_MAX_CLIENTS) {
        slot = &rl->b[rl->n++];
    } else {
        for (size_t i = 0; i < rl->n && !slot; i++) {
            rl_bucket *c = &rl->b[i];
            double idle_ns = now_ns > c->last_ns ? (double)(now_ns - c->last_ns) : 0;
            if (c->tokens + idle_ns * rl->rate_per_ns >= rl->burst)
                slot = c;
        }
        if (!slot)
            return &rl->overflow;
    }
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->tokens = rl->burst;
    slot->last_ns = now_ns;
    return slot;
}

bool ccai_ratelimit_take(ccai_ratelimit *rl, const char *client, uint64_t now_ns,
                         int *retry_after_s)
{
    char key[RL_KEY_MAX];
    client_key(client, key);
    pthread_mutex_lock(&rl->mu);
    rl_bucket *b = find_bucket(rl, key, now_ns);
    refill(rl, b, now_ns);
    bool ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    } else if (retry_after_s) {
        double wait_s = (1.0 - b->tokens) / rl->rate_per_ns / 1e9;
        *retry_after_s = wait_s < 1 ? 1 : (int)ceil(wait_s);
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
