/* message_unpack.h: protobuf-c's unpack, safe for messages that have no fields. */
#ifndef CLINIC_MESSAGE_UNPACK_H
#define CLINIC_MESSAGE_UNPACK_H

#include <protobuf-c/protobuf-c.h>

/* protobuf_c_message_unpack(desc, NULL, len, data), except for a message type with no fields
 * (Auth/Logout's request, WhoAmI's): protobuf-c 1.4.1 starts its unpack with `desc->fields + 0`,
 * and `fields` is NULL for them, which is undefined behaviour. Such a message is made empty
 * instead; whatever bytes came are unknown fields that nothing reads (the daemon has checked
 * them with wire_check already). Free the result with protobuf_c_message_free_unpacked(m, NULL).
 * NULL when the bytes are not a valid message, or when out of memory. */
ProtobufCMessage *message_unpack(const ProtobufCMessageDescriptor *desc, size_t len,
                                 const uint8_t *data);

#endif
