/* fuzz_envelope.c: libFuzzer target. Raw bytes as a request off the socket: rpc_serve's size
 * check, the envelope's wire check and decoding, method lookup, the payload's wire check and
 * decoding as the named method's request, the token check; and rpc_refuse, which answers
 * requests at shutdown. The stand-in database answers every statement with its default row (the
 * input is the request alone), so public methods run their handlers too.
 *
 * Checks: both always answer with an RpcResponse that keeps rpc_serve's promises (fuzz_check.h);
 * rpc_refuse answers with the code it was given. */
#include <stdlib.h>

#include "clinic/v1/rpc.pb-c.h"
#include "db.h"
#include "fuzz_check.h"
#include "fuzz_daemon.h"
#include "fuzz_db.h"
#include "rpc.h"
#include "status.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct db *db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_daemon_server();
    if (!(db = db_new("stand-in")))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *reply = NULL;
    fuzz_db_start(NULL, 0);
    size_t len = rpc_serve(fuzz_daemon_server(), db, NULL, 0, FUZZ_PEER, data, size, &reply);
    fuzz_check_reply(reply, len, NULL);
    free(reply);

    reply = NULL;
    len = rpc_refuse(data, size, 0, STATUS_UNAVAILABLE, "clinicd is shutting down", &reply);
    if (fuzz_check_reply(reply, len, NULL) != STATUS_UNAVAILABLE)
        fuzz_fail("rpc_refuse answered another code than it was given");
    free(reply);
    return 0;
}
