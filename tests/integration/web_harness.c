/* web_harness.c: a gateway in the test's process, and HTTP through libcurl (web_harness.h). */
#include "web_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool web_gateway_start(struct web_gateway *w, const char *daemon_url,
                       const struct gateway_config *config)
{
    *w = (struct web_gateway){0};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "web harness: libcurl does not start\n");
        return false;
    }
    struct clinic_error err;
    struct clinic_connect_options opts = {0};
    if (!(w->upstream = clinic_connect_with(daemon_url, &opts, &err))) {
        fprintf(stderr, "web harness: cannot reach %s: %s\n", daemon_url, err.message);
        return false;
    }
    struct gateway_config on_free_port = *config;
    on_free_port.listen = "127.0.0.1:0";
    char why[512];
    if (!(w->gateway = gateway_start(&on_free_port, w->upstream, why, sizeof why))) {
        fprintf(stderr, "web harness: the gateway does not start: %s\n", why);
        return false;
    }
    snprintf(w->base, sizeof w->base, "http://127.0.0.1:%u", gateway_port(w->gateway));
    return true;
}

void web_gateway_stop(struct web_gateway *w)
{
    gateway_stop(w->gateway);
    clinic_close(w->upstream);
    *w = (struct web_gateway){0};
    curl_global_cleanup();
}

static size_t take_body(char *data, size_t size, size_t n, void *arg)
{
    struct web_reply *r = arg;
    char *grown = realloc(r->body, r->len + size * n + 1);
    assert_non_null(grown);
    memcpy(grown + r->len, data, size * n);
    r->body = grown;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t take_header(char *data, size_t size, size_t n, void *arg)
{
    struct web_reply *r = arg;
    size_t used = strlen(r->headers);
    snprintf(r->headers + used, sizeof r->headers - used, "%.*s", (int)(size * n), data);
    return size * n;
}

struct web_reply web_exchange(const char *method, const char *url, const char *const *headers,
                              const void *body, size_t len)
{
    struct web_reply r = {0};
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, take_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return r;
}
