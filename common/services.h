/* services.h: every service of clinic.v1, by its generated descriptor, for programs that must
 * find a method's request and response types from its path alone (clinic-gateway turns an HTTP
 * path into a call). The daemon's own list pairs these with their handlers (daemon/handlers.c);
 * a unit test keeps the two the same. */
#ifndef CLINIC_SERVICES_H
#define CLINIC_SERVICES_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* The services, NULL-terminated. */
extern const ProtobufCServiceDescriptor *const clinic_services[];

/* The method at path ("/clinic.v1.Scheduling/Book"), or NULL when no service has it. */
const ProtobufCMethodDescriptor *clinic_method_by_path(const char *path);

#endif
