/* message_unpack.c: see message_unpack.h. */
#include "message_unpack.h"

#include <stdlib.h>

ProtobufCMessage *message_unpack(const ProtobufCMessageDescriptor *desc, size_t len,
                                 const uint8_t *data)
{
    if (desc->n_fields > 0)
        return protobuf_c_message_unpack(desc, NULL, len, data);
    /* protobuf_c_message_free_unpacked releases it with the default allocator: free() */
    ProtobufCMessage *empty = malloc(desc->sizeof_message);
    if (empty)
        protobuf_c_message_init(desc, empty);
    return empty;
}
