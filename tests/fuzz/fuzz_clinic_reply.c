/* fuzz_clinic_reply.c: libFuzzer target. libclinic's side of a call (clients/lib): the reply
 * off the socket decoded as an RpcResponse, its status turned into an error (code, sentence,
 * field violations) or its payload decoded as the method's response type, and the response
 * printed as JSON (json.c, what --json prints). The reply comes from a REP socket in this process
 * (inproc://) that answers every request with the input's bytes, so the whole of clinic_call
 * runs as it does against clinicd.
 *
 * Input: byte 0 picks the method (every method of every service in services.c, in table order),
 * the rest is the reply.
 * Checks: the call's code and the error's agree; an error has a sentence; an OK call has a
 * response; its JSON is well-formed, and valid UTF-8 when the response's text is. */
#include <math.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "fuzz_check.h"
#include "handlers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define URL        "inproc://clinic-fuzz-reply"
#define MAX_DEPTH  64
#define MAX_METHOD 256

struct method {
    char name[128];
    const ProtobufCMethodDescriptor *desc;
};

static struct method methods[MAX_METHOD];
static size_t n_methods;
static clinic_client *client;
static nng_socket rep;
/* The reply the REP side sends next; set before each call, read after the request arrives. */
static const uint8_t *reply_bytes;
static size_t reply_len;

static void *answer_requests(void *arg)
{
    (void)arg;
    for (;;) {
        void *request;
        size_t len;
        if (nng_recv(rep, &request, &len, NNG_FLAG_ALLOC) != 0)
            return NULL;
        nng_free(request, len);
        if (nng_send(rep, (void *)reply_bytes, reply_len, 0) != 0)
            return NULL;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pthread_t thread;
    struct clinic_error err;
    for (const struct handler_entry *e = handler_table; e->set; e++) {
        const ProtobufCServiceDescriptor *sd = e->set->service->descriptor;
        for (unsigned i = 0; i < sd->n_methods && n_methods < MAX_METHOD; i++) {
            struct method *m = &methods[n_methods++];
            snprintf(m->name, sizeof m->name, "/%s/%s", sd->name, sd->methods[i].name);
            m->desc = &sd->methods[i];
        }
    }
    if (nng_rep0_open(&rep) != 0 || nng_listen(rep, URL, NULL, 0) != 0 ||
        pthread_create(&thread, NULL, answer_requests, NULL) != 0)
        abort();
    struct clinic_connect_options opts = {.default_timeout_ms = 1000};
    if (!(client = clinic_connect_with(URL, &opts, &err)))
        fuzz_fail("cannot connect to the in-process REP socket: %s", err.message);
    return 0;
}

/* --- a JSON syntax check (RFC 8259), enough to catch what printf would let through --- */

struct json {
    const char *p;
    int depth;
};

static bool json_value(struct json *j);

static void json_space(struct json *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

static bool json_literal(struct json *j, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(j->p, word, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool digits(struct json *j)
{
    const char *start = j->p;
    while (*j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > start;
}

static bool json_number(struct json *j)
{
    if (*j->p == '-')
        j->p++;
    if (*j->p == '0')
        j->p++;
    else if (!digits(j))
        return false;
    if (*j->p == '.') {
        j->p++;
        if (!digits(j))
            return false;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-')
            j->p++;
        if (!digits(j))
            return false;
    }
    return true;
}

static bool json_string(struct json *j)
{
    if (*j->p++ != '"')
        return false;
    for (;;) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false; /* raw control characters, and the end of the text */
        if (c != '\\')
            continue;
        c = (unsigned char)*j->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++, j->p++)
                if (!*j->p || !strchr("0123456789abcdefABCDEF", *j->p))
                    return false;
        } else if (!c || !strchr("\"\\/bfnrt", c)) {
            return false;
        }
    }
}

static bool json_list(struct json *j, char close, bool members)
{
    j->p++;
    json_space(j);
    if (*j->p == close) {
        j->p++;
        return true;
    }
    for (;;) {
        json_space(j);
        if (members) {
            if (!json_string(j))
                return false;
            json_space(j);
            if (*j->p++ != ':')
                return false;
        }
        if (!json_value(j))
            return false;
        json_space(j);
        if (*j->p == close) {
            j->p++;
            return true;
        }
        if (*j->p++ != ',')
            return false;
    }
}

static bool json_value(struct json *j)
{
    bool ok;
    json_space(j);
    if (++j->depth > MAX_DEPTH)
        return false;
    switch (*j->p) {
    case '{':
        ok = json_list(j, '}', true);
        break;
    case '[':
        ok = json_list(j, ']', false);
        break;
    case '"':
        ok = json_string(j);
        break;
    case 't':
        ok = json_literal(j, "true");
        break;
    case 'f':
        ok = json_literal(j, "false");
        break;
    case 'n':
        ok = json_literal(j, "null");
        break;
    default:
        ok = json_number(j);
    }
    j->depth--;
    return ok;
}

static void check_json(const ProtobufCMessage *response)
{
    const char *bad = "";
    char *text = clinic_message_to_json(response);
    if (!text)
        fuzz_fail("clinic_message_to_json gave nothing for a %s", response->descriptor->name);
    struct json j = {text, 0};
    bool ok = json_value(&j);
    json_space(&j);
    if (!ok || *j.p)
        fuzz_fail("the JSON of a %s is not well-formed at byte %zu: %.60s",
                  response->descriptor->name, (size_t)(j.p - text), text);
    if (fuzz_message_text_valid(response, &bad) &&
        !fuzz_utf8_valid((const uint8_t *)text, strlen(text)))
        fuzz_fail("the JSON of a %s with valid text is not valid UTF-8",
                  response->descriptor->name);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct method *m = &methods[data[0] % n_methods];
    reply_bytes = data + 1;
    reply_len = size - 1;
    ProtobufCMessage *request = calloc(1, m->desc->input->sizeof_message);
    if (!request)
        abort();
    protobuf_c_message_init(m->desc->input, request);
    ProtobufCMessage *response = NULL;
    struct clinic_error err;
    struct clinic_call_options opts = {.timeout_ms = 1, .mutating = data[0] & 1};
    int code = clinic_call(client, m->name, request, m->desc->output, &response, &opts, &err);
    if (code == STATUS_OK) {
        if (!response)
            fuzz_fail("%s succeeded without a response", m->name);
        check_json(response);
        protobuf_c_message_free_unpacked(response, NULL);
    } else {
        if (response)
            fuzz_fail("%s failed with %s and still gave a response", m->name,
                      status_code_name(code));
        if (err.code != code || !err.message[0] || err.n_violations > CLINIC_MAX_VIOLATIONS)
            fuzz_fail("%s failed with %s, but the error says %s \"%s\" (%zu violations)", m->name,
                      status_code_name(code), status_code_name(err.code), err.message,
                      err.n_violations);
    }
    free(request);
    return 0;
}
