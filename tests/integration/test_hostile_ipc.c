/* The attacks of test_hostile_peers.c on an ipc:// listener, where nng 1.5.2's own listener
 * cannot take a handshake broken off (upstream issue 1518) and the daemon puts a front of its own
 * before it (daemon/ipc_front.c). */
#define HOSTILE_IPC 1
#include "test_hostile_peers.c"
