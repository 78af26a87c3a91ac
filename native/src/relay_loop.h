/*
 * smgate native relay: the epoll thread and its session table (interface used by the N-API binding).
 */
#ifndef SMGATE_RELAY_LOOP_H
#define SMGATE_RELAY_LOOP_H

#include "relay.h"

/* What JavaScript learns when a session leaves the relay (or asks for its state). */
typedef struct relay_event {
  uint32_t id;
  int reason;
  int32_t outstanding;
  double busy_since;
  char tx;
  int client_terminated;
  int server_fatal;
  /* a message is partly forwarded (or still unwritten) in that direction */
  int up_mid, down_mid;
  double bytes_up, bytes_down;
  char error[200];
  /* R_HANDBACK: the client and server bytes not forwarded (owned by the event) */
  uint8_t *held;
  size_t held_len;
  uint8_t *held_server;
  size_t held_server_len;
} relay_event_t;

typedef struct relay relay_t;
/* Called on the relay thread (or the caller's thread for relay_drain) with an event the receiver frees
 * (relay_event_free). */
typedef void (*relay_notify_fn)(void *ctx, relay_event_t *ev);

relay_t *relay_create(relay_notify_fn notify, void *ctx, char *err, size_t errlen);
/* Hand a session's sockets to the relay. init holds the tracker state at the hand-over point. 0 = ok. */
int relay_attach(relay_t *r, uint32_t id, int client_fd, int server_fd, const tracker_t *init, char *err, size_t errlen);
/* Ask for R_IDLE as soon as the session is idle (now if it already is). 0 = unknown id. */
int relay_drain(relay_t *r, uint32_t id);
/* Take the session back now (the relay stops touching its sockets before this returns). 0 = unknown id. */
int relay_abort(relay_t *r, uint32_t id, relay_event_t *out);
/* Current state without changing anything. 0 = unknown id. */
int relay_state(relay_t *r, uint32_t id, relay_event_t *out);
int relay_count(relay_t *r);
void relay_destroy(relay_t *r);
void relay_event_free(relay_event_t *ev);

#endif
