/* events_url.c: where a client finds a daemon's events: the URL Server/Info reports, with the
 * host the client reached the daemon at in place of the daemon's own view of itself.
 *
 * DESIGN. A daemon knows the address it listens on, not the name its clients reach it by: one
 * listening on 0.0.0.0 or 127.0.0.1 (behind a tunnel or a port forward) is tcp://10.0.0.5:7450
 * to the front desk. So a wildcard or loopback host in the reported URL stands for "the host
 * you dialled", and is replaced by it; a specific address the daemon was told to publish on
 * (one interface of several) is the operator's choice and is kept. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clinic.h"
#include "clinic/v1/server.pb-c.h"
#include "clinic_internal.h"

/* Whether host, as nng_url_parse gives it (no brackets; "" for a wildcard "*" or nothing),
 * names the daemon's machine only from its own point of view: a wildcard or a loopback. */
static bool host_is_self_view(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!host[0] || strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &v4) == 1) {
        uint32_t a = ntohl(v4.s_addr);
        return a == INADDR_ANY || (a >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_UNSPECIFIED(&v6) || IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

/* The host to dial for a self-view host on this very machine: a wildcard becomes the loopback
 * address of its family; a loopback host stays. */
static const char *loopback_for(const char *host)
{
    struct in6_addr v6;
    if (inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&v6))
        return "::1";
    struct in_addr v4;
    if (!host[0] || (inet_pton(AF_INET, host, &v4) == 1 && v4.s_addr == htonl(INADDR_ANY)))
        return "127.0.0.1";
    return host;
}

bool clinic_events_url_near(const char *rpc_url, const char *reported, char *out, size_t len)
{
    nng_url *events = NULL, *rpc = NULL;
    bool ok = false;
    if (!reported || !reported[0] || nng_url_parse(&events, reported) != 0)
        goto done;
    const char *host = events->u_hostname;
    if (!host || !host_is_self_view(host)) {
        /* no host (ipc://) or one the daemon was told to publish on: as reported */
        ok = (size_t)snprintf(out, len, "%s", reported) < len;
        goto done;
    }
    if (rpc_url && nng_url_parse(&rpc, rpc_url) == 0 && rpc->u_hostname && rpc->u_hostname[0])
        host = rpc->u_hostname;
    else
        host = loopback_for(host); /* reached without a host (ipc://): it is on this machine */
    bool brackets = strchr(host, ':') != NULL; /* an IPv6 address */
    const char *port = events->u_port && events->u_port[0] ? events->u_port : NULL;
    int n = snprintf(out, len, "%s://%s%s%s%s%s%s", events->u_scheme, brackets ? "[" : "", host,
                     brackets ? "]" : "", port ? ":" : "", port ? port : "",
                     events->u_path ? events->u_path : "");
    ok = n > 0 && (size_t)n < len;
done:
    if (events)
        nng_url_free(events);
    if (rpc)
        nng_url_free(rpc);
    if (!ok && len)
        out[0] = '\0';
    return ok;
}

/* Appends url to the comma-separated list unless it is there already; false when it would not
 * fit. */
static bool list_add(char *list, size_t len, const char *url)
{
    size_t used = strlen(list), n = strlen(url);
    for (const char *p = list; *p;) {
        size_t item = strcspn(p, ",");
        if (item == n && memcmp(p, url, n) == 0)
            return true;
        p += item + (p[item] == ',');
    }
    if (used + (used ? 1 : 0) + n + 1 > len)
        return false;
    snprintf(list + used, len - used, "%s%s", used ? "," : "", url);
    return true;
}

int clinic_events_urls_discover(clinic_client *client, uint32_t timeout_ms, char *out, size_t len,
                                struct clinic_error *err)
{
    Clinic__V1__ServerInfoRequest req = CLINIC__V1__SERVER_INFO_REQUEST__INIT;
    struct clinic_call_options opts = {.timeout_ms = timeout_ms};
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(client, "/clinic.v1.Server/Info", &req.base,
                           &clinic__v1__server_info_response__descriptor, &resp, &opts, err);
    /* A daemon older than Server/Info, or one not up yet (the subscription waits for it): the
     * port every clinicd publishes on unless told otherwise is the best guess. */
    const char *reported = CLINIC_DEFAULT_EVENTS_URL;
    if (code == STATUS_OK)
        reported = ((Clinic__V1__ServerInfoResponse *)resp)->events_url;
    else if (code != STATUS_UNIMPLEMENTED && code != STATUS_UNAVAILABLE &&
             code != STATUS_DEADLINE_EXCEEDED)
        return code;
    out[0] = '\0';
    code = STATUS_OK;
    if (reported[0]) {
        /* each daemon of the client's list publishes every event: dial them all, so that the
         * watch stays live while any one of them is up (the subscription drops duplicates) */
        char list[1024], *save = NULL;
        snprintf(list, sizeof list, "%s", clinic_client_urls(client));
        for (char *rpc = strtok_r(list, ",", &save); rpc && code == STATUS_OK;
             rpc = strtok_r(NULL, ",", &save)) {
            while (*rpc == ' ')
                rpc++;
            char near[512];
            if (!clinic_events_url_near(rpc, reported, near, sizeof near) ||
                !list_add(out, len, near)) {
                clinic_set_error(err, STATUS_INVALID_ARGUMENT, NULL,
                                 "the daemon publishes events on \"%.300s\", which cannot be "
                                 "watched from here; pass --events (or CLINIC_EVENTS)",
                                 reported);
                code = STATUS_INVALID_ARGUMENT;
            }
        }
    }
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}
