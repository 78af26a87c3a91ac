/*
 * PostgreSQL v3 message tracker for the native relay (after startup; both directions).
 *
 * Frames messages by their 5-byte header (type, Int32 length) and checks what the JavaScript framer checks:
 * legal type for the direction, length >= 4 and within max_message_bytes. It keeps the session state the
 * gateway needs from a passthrough session: Sync/Query/FunctionCall sent and their ReadyForQuery (requests
 * outstanding, busy-since for statement_timeout, transaction status), extended-protocol messages sent before
 * their Sync (the session is not idle for a drain until then), Terminate from the client, and a FATAL or PANIC
 * ErrorResponse from the server (the server then told the client why it closes).
 */
#include <stdio.h>
#include <string.h>

#include "relay.h"

static const char FRONTEND_TYPES[] = "BCdcfDEHFPpQSX";
static const char BACKEND_TYPES[] = "RK23CdcGHWDIEVvnNAtS1sZT";

static int legal_type(int up, uint8_t type) {
  return type != 0 && strchr(up ? FRONTEND_TYPES : BACKEND_TYPES, type) != NULL;
}

static void type_name(uint8_t type, char out[8]) {
  if (type >= 0x20 && type < 0x7f)
    snprintf(out, 8, "'%c'", (char)type);
  else
    snprintf(out, 8, "0x%02x", type);
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static size_t protocol_error(int up, size_t at, int *stop) {
  *stop = up ? R_PROTOCOL_CLIENT : R_PROTOCOL_SERVER;
  return at;
}

size_t pg_scan(tracker_t *t, int up, const uint8_t *p, size_t n, int *stop, double now_ms) {
  uint64_t *left = up ? &t->up_left : &t->down_left;
  const char *peer = up ? "client" : "server";
  size_t i = 0;
  *stop = R_NONE;
  for (;;) {
    if (*left > 0) {
      size_t avail = n - i;
      size_t take = avail < *left ? avail : (size_t)*left;
      *left -= take;
      i += take;
    }
    if (i == n || n - i < 5) return i; /* done, or an incomplete header carried to the next read */
    uint8_t type = p[i];
    uint32_t len = be32(p + i + 1);
    char tn[8];
    type_name(type, tn);
    if (!legal_type(up, type)) {
      snprintf(t->error, sizeof t->error, "invalid message type %s from %s", tn, peer);
      return protocol_error(up, i, stop);
    }
    if (len < 4) {
      snprintf(t->error, sizeof t->error, "invalid message length %u for %s from %s", len, tn, peer);
      return protocol_error(up, i, stop);
    }
    if (len > t->max_message) {
      snprintf(t->error, sizeof t->error, "message %s of %u bytes from %s exceeds limit of %u bytes", tn, len, peer,
               t->max_message);
      return protocol_error(up, i, stop);
    }
    /* body bytes the tracker must see before the message may be forwarded */
    size_t need = 0;
    if (!up && type == 'Z') need = 1;
    if (!up && type == 'E') need = 7;
    /* ParameterStatus is decoded by smgate: the whole message must be well-formed (name NUL value NUL) */
    if (!up && type == 'S' && len - 4 <= RELAY_HEADROOM - 5) need = len - 4;
    if (need > len - 4) need = len - 4;
    if (n - i < 5 + need) return i;
    const uint8_t *body = p + i + 5;
    if (up) {
      if (type == 'S' || type == 'Q' || type == 'F') {
        if (t->outstanding++ == 0) t->busy_since = now_ms;
        if (type == 'S') t->pg_ext_open = 0; /* from here on the Sync is outstanding until its ReadyForQuery */
      } else if (type == 'X') {
        t->client_terminated = 1;
      } else if (type == 'P' || type == 'B' || type == 'D' || type == 'E' || type == 'C' || type == 'H') {
        /* Parse/Bind/Describe/Execute/Close/Flush: responses may still come (Flush) and the implicit
         * transaction lasts until the Sync, so the session is not idle before then */
        t->pg_ext_open = 1;
      }
    } else if (type == 'Z') {
      if (len != 5) {
        snprintf(t->error, sizeof t->error, "invalid message length %u for %s from %s", len, tn, peer);
        return protocol_error(up, i, stop);
      }
      if (body[0] != 'I' && body[0] != 'T' && body[0] != 'E') {
        snprintf(t->error, sizeof t->error, "invalid transaction status in ReadyForQuery from %s", peer);
        return protocol_error(up, i, stop);
      }
      t->tx = (char)body[0];
      if (t->outstanding > 0) t->outstanding--;
      t->busy_since = t->outstanding == 0 ? 0 : now_ms;
    } else if (type == 'S' && need == len - 4) {
      const uint8_t *a = memchr(body, 0, need);
      const uint8_t *b = a ? memchr(a + 1, 0, (size_t)(body + need - (a + 1))) : NULL;
      if (!a || !b || b != body + need - 1) {
        snprintf(t->error, sizeof t->error, "malformed ParameterStatus from %s", peer);
        return protocol_error(up, i, stop);
      }
    } else if (type == 'E' && need == 7) {
      if (memcmp(body, "SFATAL\0", 7) == 0 || memcmp(body, "SPANIC\0", 7) == 0) t->server_fatal = 1;
    }
    i += 5;
    *left = len - 4;
  }
}

int tracker_idle(const tracker_t *t) {
  if (t->outstanding != 0 || t->tx != 'I' || t->up_left != 0 || t->down_left != 0 || t->pg_ext_open) return 0;
  if (t->proto == PROTO_MYSQL && (t->my_state != 0 || t->my_infile || t->my_cont_up || t->my_cont_down)) return 0;
  return 1;
}

int tracker_idle_responses(const tracker_t *t) {
  if (t->outstanding != 0 || t->down_left != 0) return 0;
  if (t->proto == PROTO_MYSQL && (t->my_state != 0 || t->my_cont_down || t->my_infile)) return 0;
  return 1;
}
