/*
 * smgate native relay: shared types.
 *
 * A relay instance owns one thread running an epoll loop. JavaScript hands it a client session's two plain
 * TCP sockets (client and server) once the session needs no statement hooks; the thread then moves bytes
 * between them with read/send, and a protocol tracker frames the messages in both directions to keep the
 * session state the gateway needs (requests outstanding, transaction status, FATAL errors, limits). When the
 * session ends, must be drained, or meets something only JavaScript handles, the thread stops touching the
 * sockets and posts an event back to JavaScript, which takes the session over again.
 */
#ifndef SMGATE_RELAY_H
#define SMGATE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_BUF (16 * 1024)
/* room in front of each read for the incomplete head of a message carried over from the previous read */
#define RELAY_HEADROOM 4096

enum relay_proto { PROTO_PG = 0, PROTO_MYSQL = 1 };

enum relay_reason {
  R_NONE = 0,
  R_CLIENT_EOF = 1,
  R_SERVER_EOF = 2,
  R_CLIENT_ERROR = 3,
  R_SERVER_ERROR = 4,
  R_PROTOCOL_CLIENT = 5,
  R_PROTOCOL_SERVER = 6,
  R_IDLE = 7,     /* drain was requested and the session is idle */
  R_HANDBACK = 8, /* a client message only JavaScript handles; it is returned unforwarded */
  R_ABORTED = 9   /* JavaScript took the session back */
};

/* Per-protocol session state kept by the trackers (both directions). */
typedef struct tracker {
  int proto;
  uint32_t max_message;
  /* bytes of the current message body still to come, per direction (0 = at a message boundary) */
  uint64_t up_left, down_left;
  /* requests sent whose final response has not arrived yet */
  int32_t outstanding;
  /* ms since the epoch when the oldest outstanding request was sent (0 = none) */
  double busy_since;
  /* PostgreSQL: 'I', 'T' or 'E'; MySQL: 'I' or 'T' from the IN_TRANS status flag */
  char tx;
  int client_terminated;
  int server_fatal;
  /* PostgreSQL: extended-protocol messages sent since the last Sync (their implicit transaction is open) */
  int pg_ext_open;
  /* MySQL */
  uint32_t caps;
  int allow_local_infile;
  int my_state;      /* response state machine */
  uint64_t my_count; /* column definitions (or parameters) left in the current phase */
  uint64_t my_columns;
  int my_cmd;        /* 1 while the response in progress holds binary resultsets */
  int my_cont_up, my_cont_down; /* inside a >16 MiB payload (continuation packets) */
  int my_infile;     /* client is sending LOAD DATA LOCAL content */
  char error[200];
} tracker_t;

/*
 * Scan a chunk of one direction (up = client to server). Processes whole message heads; a message whose head
 * (header plus the bytes the tracker must see) is not complete in the chunk is left for the next read.
 * Returns the number of bytes that may be forwarded. *stop is R_NONE (the rest, if any, is an incomplete head
 * to carry over), or R_PROTOCOL_CLIENT / R_PROTOCOL_SERVER (t->error says why; the rest is dropped) or
 * R_HANDBACK (the rest starts with a message for JavaScript).
 */
size_t pg_scan(tracker_t *t, int up, const uint8_t *p, size_t n, int *stop, double now_ms);
size_t mysql_scan(tracker_t *t, int up, const uint8_t *p, size_t n, int *stop, double now_ms);

/* True when no request is outstanding, no transaction is open and both directions are at a boundary. */
int tracker_idle(const tracker_t *t);
/* True when no response from the server is in progress or still expected. */
int tracker_idle_responses(const tracker_t *t);

#endif
