/* main.c: clinic-gateway, an HTTP server that speaks the Connect protocol for unary calls and
 * forwards each to clinicd through libclinic (gateway.h). It holds no state of its own: run as
 * many as you like, behind a reverse proxy that ends TLS (README, "For clients"). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "gateway.h"

#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clinic-gateway [--listen HOST:PORT] [--url URLS] [--max-body-bytes N]\n"
            "                      [--max-connections N] [--per-address-connections N]\n"
            "                      [--logins-per-minute N] [--cors-origin ORIGIN]...\n"
            "                      [--web-root DIR]\n\n"
            "Serves clinicd's methods over HTTP with the Connect protocol: POST\n"
            "/clinic.v1.Service/Method with a JSON (application/json) or binary protobuf\n"
            "(application/proto) body; Authorization: Bearer TOKEN, Idempotency-Key and\n"
            "Connect-Timeout-Ms are passed on. Calendar feeds (iCalendar) answer GET\n"
            "/calendar/client/ID.ics?key=KEY and /calendar/therapist/ID.ics?key=KEY; `clinic\n"
            "calendar-link` makes the links. Stops on SIGINT or SIGTERM.\n\n"
            "  --listen HOST:PORT           where to listen (default %s; port 0: any free)\n"
            "  --url URLS                   clinicd, comma-separated URLs (default $CLINIC_URL,\n"
            "                               else %s)\n"
            "  --max-body-bytes N           refuse larger request bodies (default %u)\n"
            "  --max-connections N          at once, from everyone (default %u)\n"
            "  --per-address-connections N  at once, from one address (default %u)\n"
            "  --logins-per-minute N        login attempts per address and minute (default %u)\n"
            "  --cors-origin ORIGIN         let web pages from ORIGIN (https://clinic.example)\n"
            "                               call it; repeat for more (default: none)\n"
            "  --web-root DIR               serve the clients' booking page from DIR (the\n"
            "                               repository's web/) at / (default: no page)\n",
            GATEWAY_DEFAULT_LISTEN, CLINIC_DEFAULT_URL, GATEWAY_DEFAULT_MAX_BODY,
            GATEWAY_DEFAULT_MAX_CONNS, GATEWAY_DEFAULT_MAX_CONNS / 4, GATEWAY_DEFAULT_LOGINS);
}

static bool parse_count(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* Fills config and *urls from argv; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct gateway_config *config, const char **urls)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n;
        if (!value) {
            fprintf(stderr, "clinic-gateway: %s needs a value\n\n", opt);
            usage(stderr);
            return EXIT_USAGE;
        }
        i++;
        if (strcmp(opt, "--listen") == 0) {
            config->listen = value;
        } else if (strcmp(opt, "--url") == 0) {
            *urls = value;
        } else if (strcmp(opt, "--max-body-bytes") == 0 && parse_count(value, 64u << 20, &n)) {
            config->max_body_bytes = n;
        } else if (strcmp(opt, "--max-connections") == 0 && parse_count(value, 65536, &n)) {
            config->max_connections = (unsigned)n;
        } else if (strcmp(opt, "--per-address-connections") == 0 && parse_count(value, 65536, &n)) {
            config->per_address_max = (unsigned)n;
        } else if (strcmp(opt, "--web-root") == 0) {
            config->web_root = value;
        } else if (strcmp(opt, "--logins-per-minute") == 0 && parse_count(value, 100000, &n)) {
            config->logins_per_minute = (unsigned)n;
        } else if (strcmp(opt, "--cors-origin") == 0 && config->n_origins < GATEWAY_MAX_ORIGINS) {
            config->origins[config->n_origins++] = value;
        } else {
            fprintf(stderr,
                    "clinic-gateway: %s \"%s\" is not an option with a value it takes (counts "
                    "are whole numbers from 1; at most %d --cors-origin)\n\n",
                    opt, value, GATEWAY_MAX_ORIGINS);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct gateway_config config = {.listen = GATEWAY_DEFAULT_LISTEN,
                                    .max_body_bytes = GATEWAY_DEFAULT_MAX_BODY,
                                    .max_connections = GATEWAY_DEFAULT_MAX_CONNS,
                                    .per_address_max = GATEWAY_DEFAULT_MAX_CONNS / 4,
                                    .logins_per_minute = GATEWAY_DEFAULT_LOGINS};
    const char *urls = getenv("CLINIC_URL");
    if (!urls || !*urls)
        urls = CLINIC_DEFAULT_URL;
    int status = parse_args(argc, argv, &config, &urls);
    if (status >= 0)
        return status;

    /* Signals are taken by sigwait below, not by whichever thread they land on. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* No token of its own: each call carries its caller's (clinic_connect_with reads no
     * CLINIC_TOKEN). */
    struct clinic_error err;
    struct clinic_connect_options opts = {.tls_ca_file = getenv("CLINIC_TLS_CA")};
    clinic_client *client = clinic_connect_with(urls, &opts, &err);
    if (!client) {
        fprintf(stderr, "clinic-gateway: cannot reach clinicd at %s: %s\n", urls, err.message);
        return 1;
    }
    char why[256];
    struct gateway *g = gateway_start(&config, client, why, sizeof why);
    if (!g) {
        fprintf(stderr, "clinic-gateway: %s\n", why);
        clinic_close(client);
        return 1;
    }
    const char *colon = strrchr(config.listen, ':');
    fprintf(stderr, "clinic-gateway: serving http://%.*s:%u for clinicd at %s\n",
            (int)(colon - config.listen), config.listen, gateway_port(g), urls);
    int sig;
    sigwait(&stop, &sig);
    fprintf(stderr, "clinic-gateway: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    gateway_stop(g);
    clinic_close(client);
    return 0;
}
