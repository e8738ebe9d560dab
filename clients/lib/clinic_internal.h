/* clinic_internal.h: what libclinic's own files share beyond clinic.h (the subscription in
 * events.c reuses the client's dialer set-up and call path). Not installed. */
#ifndef CLINIC_INTERNAL_H
#define CLINIC_INTERNAL_H

#include <nng/nng.h>
#include <stdint.h>

#include "clinic.h"

/* Creates (does not start) a dialer for url on sock; for tls+tcp:// URLs, with ca_file and the
 * URL's host to verify. 0 or an nng error (err filled when the caller must be told why). */
int clinic_dialer_create(nng_socket sock, const char *url, const char *ca_file, nng_dialer *d,
                         struct clinic_error *err);

/* The daemon URLs the client dials, comma-separated, as given to clinic_connect. */
const char *clinic_client_urls(const clinic_client *client);

/* Fills out (len bytes) with the events URLs a subscription of client dials, comma-separated:
 * the URL Server/Info reports, placed near each of the client's daemon URLs
 * (clinic_events_url_near), each once; "" when the daemon publishes no events. A daemon that
 * does not know Server/Info or does not answer in timeout_ms is taken to publish on
 * CLINIC_DEFAULT_EVENTS_URL's port. STATUS_OK, else a status with err filled. */
int clinic_events_urls_discover(clinic_client *client, uint32_t timeout_ms, char *out, size_t len,
                                struct clinic_error *err);

/* The CA file the client verifies TLS daemons with ("" when none), and its default timeout. */
const char *clinic_client_tls_ca(const clinic_client *client);
uint32_t clinic_client_default_timeout_ms(const clinic_client *client);

/* clinic_call that also returns by deadline_ms (CLOCK_MONOTONIC milliseconds, see
 * clinic_now_ms) at the latest, even without the transport slack clinic_call allows itself;
 * DEADLINE_EXCEEDED then. */
int clinic_call_within(clinic_client *client, const char *method, const ProtobufCMessage *request,
                       const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                       const struct clinic_call_options *opts, int64_t deadline_ms,
                       struct clinic_error *err);

/* Milliseconds on the monotonic clock. */
int64_t clinic_now_ms(void);

/* Fills err (when not NULL) with code and a printf-style sentence. */
void clinic_set_error(struct clinic_error *err, int code, const char *request_id, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

#endif
