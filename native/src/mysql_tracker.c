/*
 * MySQL/MariaDB packet tracker for the native relay (command phase, after authentication).
 *
 * Client to server: each command packet is classified by its command byte. The relay forwards the commands a
 * passthrough session uses all the time (COM_QUERY except KILL, COM_STMT_PREPARE / EXECUTE without a cursor /
 * CLOSE / RESET / SEND_LONG_DATA, COM_PING, COM_QUIT); any other command, a command sent while a response is
 * still in progress (pipelining), a split (>16 MiB) command, or anything unexpected is handed back unforwarded to
 * JavaScript, which has the whole command logic (KILL mapping, COM_CHANGE_USER, COM_INIT_DB, refusals).
 *
 * Server to client: a response state machine (OK / ERR / resultsets with column definitions, EOF or OK-as-EOF
 * terminators, multi-resultsets, prepare answers, LOCAL INFILE) finds where each response ends, so the session is
 * handed back only between responses, and keeps the transaction flag for graceful drain. Packets the state
 * machine does not expect end the session as a protocol error, as in JavaScript.
 */
#include <stdio.h>
#include <string.h>

#include "relay.h"

#define CAP_LOCAL_FILES (1u << 7)
#define CAP_DEPRECATE_EOF (1u << 24)
#define CAP_QUERY_ATTRIBUTES (1u << 27)
#define ST_IN_TRANS 0x0001
#define ST_MORE_RESULTS 0x0008
#define ST_CURSOR_EXISTS 0x0040
#define MAX_PAYLOAD 0xffffffu

enum {
  M_IDLE = 0,
  M_FIRST,      /* first packet of a (text) resultset response */
  M_BFIRST,     /* first packet of a binary resultset response (COM_STMT_EXECUTE) */
  M_COLS,
  M_COLS_EOF,
  M_ROWS,
  M_PREP_FIRST,
  M_PREP_PARAMS,
  M_PREP_PARAMS_EOF,
  M_PREP_COLS,
  M_PREP_COLS_EOF,
  M_SINGLE,
  M_INFILE_WAIT /* the server asked for a LOCAL INFILE; the client is sending it */
};

enum { CMD_QUIT = 0x01, CMD_QUERY = 0x03, CMD_PING = 0x0e, CMD_PREPARE = 0x16, CMD_EXECUTE = 0x17,
       CMD_LONG_DATA = 0x18, CMD_CLOSE = 0x19, CMD_RESET = 0x1a };

static uint32_t le24(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16); }

static size_t fail(tracker_t *t, int up, size_t at, int *stop, const char *why) {
  snprintf(t->error, sizeof t->error, "%s", why);
  *stop = up ? R_PROTOCOL_CLIENT : R_PROTOCOL_SERVER;
  return at;
}

/* Length-encoded integer at p (n bytes available). Returns bytes used, 0 if truncated or invalid. */
static size_t lenenc(const uint8_t *p, size_t n, uint64_t *v) {
  if (n < 1) return 0;
  uint8_t b = p[0];
  size_t w = b < 0xfb ? 0 : b == 0xfc ? 2 : b == 0xfd ? 3 : b == 0xfe ? 8 : (size_t)-1;
  if (w == (size_t)-1 || n < 1 + w) return 0;
  uint64_t x = b < 0xfb ? b : 0;
  for (size_t i = 0; i < w; i++) x |= (uint64_t)p[1 + i] << (8 * i);
  *v = x;
  return 1 + w;
}

/* Status flags of an OK packet (payload p, n bytes). -1 when truncated. */
static int ok_status(const uint8_t *p, size_t n) {
  size_t pos = 1;
  uint64_t v;
  for (int i = 0; i < 2; i++) {
    size_t used = lenenc(p + pos, n - pos, &v);
    if (used == 0) return -1;
    pos += used;
  }
  if (pos + 2 > n) return -1;
  return p[pos] | (p[pos + 1] << 8);
}

static int terminator_status(const tracker_t *t, const uint8_t *p, size_t n) {
  if ((t->caps & CAP_DEPRECATE_EOF) && n >= 7) return ok_status(p, n);
  if (n >= 5) return p[3] | (p[4] << 8);
  return 0;
}

static int is_terminator(const tracker_t *t, const uint8_t *p, uint32_t len) {
  if (len == 0 || p[0] != 0xfe) return 0;
  return (t->caps & CAP_DEPRECATE_EOF) ? len < MAX_PAYLOAD : len < 9;
}

static void set_status(tracker_t *t, int status) {
  if (status >= 0) t->tx = (status & ST_IN_TRANS) ? 'T' : 'I';
}

static void response_done(tracker_t *t) {
  t->my_state = M_IDLE;
  if (t->outstanding > 0) t->outstanding--;
  t->busy_since = 0;
}

/* Payload bytes of a server packet the state machine must see before forwarding it. */
static size_t down_need(const tracker_t *t, uint32_t len) {
  size_t need;
  switch (t->my_state) {
    case M_FIRST:
    case M_BFIRST:
    case M_SINGLE:
    case M_ROWS:
    case M_COLS_EOF:
    case M_PREP_PARAMS_EOF:
    case M_PREP_COLS_EOF:
      need = 32; /* OK/EOF/ERR heads, a column count */
      break;
    case M_PREP_FIRST:
      need = 12;
      break;
    default:
      need = 4;
  }
  return need < len ? need : len;
}

/* One server packet (payload p, first `have` bytes of `len`). Returns 0, 1 to hand the session back to
 * JavaScript at this packet (a COM_QUERY response in its first packet), or -1 for a protocol error. */
static int server_packet(tracker_t *t, const uint8_t *p, uint32_t len, size_t have, const char **why) {
  uint8_t head = len > 0 ? p[0] : 0;
  switch (t->my_state) {
    case M_IDLE:
      /* the server may report an error on its own (killed, shutdown) */
      if (len > 0 && head == 0xff) return 0;
      *why = "packet from the server while no response was expected";
      return -1;
    case M_FIRST:
    case M_BFIRST: {
      if (len == 0) break;
      if (head == 0x00) {
        int st = ok_status(p, have);
        if (st < 0) break;
        set_status(t, st);
        if (!(st & ST_MORE_RESULTS)) response_done(t);
        else t->my_state = t->my_cmd ? M_BFIRST : M_FIRST;
        return 0;
      }
      if (head == 0xff) {
        response_done(t);
        return 0;
      }
      if (head == 0xfb && t->my_state == M_FIRST) {
        if (!t->allow_local_infile) return 1; /* JavaScript refuses it (empty file, ERR to the client) */
        t->my_infile = 1;
        t->my_state = M_INFILE_WAIT;
        return 0;
      }
      uint64_t n;
      size_t used = lenenc(p, have, &n);
      if (used == 0 || used != len || n == 0 || n > 65535) {
        *why = "invalid column count packet";
        return -1;
      }
      t->my_count = n;
      t->my_state = M_COLS;
      return 0;
    }
    case M_COLS:
    case M_PREP_PARAMS:
    case M_PREP_COLS:
      if (len < 22 || memcmp(p, "\x03" "def", 4) != 0) {
        *why = "invalid column definition";
        return -1;
      }
      if (--t->my_count > 0) return 0;
      if (t->my_state == M_COLS) {
        t->my_state = (t->caps & CAP_DEPRECATE_EOF) ? M_ROWS : M_COLS_EOF;
      } else if (t->my_state == M_PREP_PARAMS) {
        if (t->caps & CAP_DEPRECATE_EOF) {
          t->my_count = t->my_columns;
          if (t->my_count == 0) response_done(t);
          else t->my_state = M_PREP_COLS;
        } else t->my_state = M_PREP_PARAMS_EOF;
      } else {
        if (t->caps & CAP_DEPRECATE_EOF) response_done(t);
        else t->my_state = M_PREP_COLS_EOF;
      }
      return 0;
    case M_COLS_EOF: {
      if (head != 0xfe || len == 0) {
        *why = "expected EOF after column definitions";
        return -1;
      }
      int st = terminator_status(t, p, have);
      t->my_state = M_ROWS;
      if (t->my_cmd == 1 && st >= 0 && (st & ST_CURSOR_EXISTS)) response_done(t); /* rows come with FETCH */
      return 0;
    }
    case M_ROWS: {
      if (is_terminator(t, p, len)) {
        int st = terminator_status(t, p, have);
        set_status(t, st);
        if (st >= 0 && (st & ST_MORE_RESULTS)) t->my_state = t->my_cmd ? M_BFIRST : M_FIRST;
        else response_done(t);
        return 0;
      }
      if (len > 0 && head == 0xff) response_done(t);
      return 0; /* a row */
    }
    case M_PREP_FIRST: {
      if (len > 0 && head == 0xff) {
        response_done(t);
        return 0;
      }
      if (head != 0x00 || len < 12) {
        *why = "invalid COM_STMT_PREPARE answer";
        return -1;
      }
      t->my_columns = (uint64_t)(p[5] | (p[6] << 8));
      uint64_t params = (uint64_t)(p[7] | (p[8] << 8));
      if (params > 0) {
        t->my_count = params;
        t->my_state = M_PREP_PARAMS;
      } else if (t->my_columns > 0) {
        t->my_count = t->my_columns;
        t->my_state = M_PREP_COLS;
      } else {
        response_done(t);
      }
      return 0;
    }
    case M_PREP_PARAMS_EOF:
      if (head != 0xfe || len == 0) {
        *why = "expected EOF after parameter definitions";
        return -1;
      }
      t->my_count = t->my_columns;
      if (t->my_count == 0) response_done(t);
      else t->my_state = M_PREP_COLS;
      return 0;
    case M_PREP_COLS_EOF:
      if (head != 0xfe || len == 0) {
        *why = "expected EOF after column definitions";
        return -1;
      }
      response_done(t);
      return 0;
    case M_SINGLE:
      if (len > 0 && head == 0x00) set_status(t, ok_status(p, have));
      response_done(t);
      return 0;
    case M_INFILE_WAIT:
      *why = "packet from the server while the client sends a LOCAL INFILE";
      return -1;
  }
  *why = "malformed packet from the server";
  return -1;
}

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* COM_QUERY text starting with the KILL keyword (as JavaScript's startsWithKill), or only blanks in view. */
static int needs_js_query(const uint8_t *sql, size_t have, uint32_t sql_len) {
  size_t i = 0;
  while (i < have && is_space(sql[i])) i++;
  if (i == have) return have < sql_len; /* could not see the first word */
  if (have - i < 5) return 0;
  return (sql[i] | 0x20) == 'k' && (sql[i + 1] | 0x20) == 'i' && (sql[i + 2] | 0x20) == 'l' &&
         (sql[i + 3] | 0x20) == 'l' && is_space(sql[i + 4]);
}

/* A client command packet (seq 0). Returns 1 to forward it, 0 to hand it back to JavaScript. */
static int client_command(tracker_t *t, const uint8_t *p, uint32_t len, size_t have, double now) {
  if (len == 0 || t->my_state != M_IDLE || t->outstanding != 0) return 0;
  int next;
  switch (p[0]) {
    case CMD_QUERY:
      if (t->caps & CAP_QUERY_ATTRIBUTES) return 0;
      if (needs_js_query(p + 1, have - 1, len - 1)) return 0;
      next = M_FIRST;
      break;
    case CMD_PREPARE:
      next = M_PREP_FIRST;
      break;
    case CMD_EXECUTE:
      if (len < 10 || p[5] != 0) return 0; /* short, or a cursor: JavaScript */
      next = M_BFIRST;
      break;
    case CMD_RESET:
    case CMD_PING:
      next = M_SINGLE;
      break;
    case CMD_CLOSE:
    case CMD_LONG_DATA:
      return len >= 5; /* no response */
    case CMD_QUIT:
      t->client_terminated = 1;
      return 1;
    default:
      return 0;
  }
  t->my_state = next;
  t->my_cmd = next == M_BFIRST; /* 1 = binary resultsets */
  t->outstanding = 1;
  t->busy_since = now;
  return 1;
}

size_t mysql_scan(tracker_t *t, int up, const uint8_t *p, size_t n, int *stop, double now_ms) {
  uint64_t *left = up ? &t->up_left : &t->down_left;
  int *cont = up ? &t->my_cont_up : &t->my_cont_down;
  size_t i = 0;
  *stop = R_NONE;
  for (;;) {
    if (*left > 0) {
      size_t avail = n - i;
      size_t take = avail < *left ? avail : (size_t)*left;
      *left -= take;
      i += take;
    }
    if (i == n || n - i < 4) return i;
    uint32_t len = le24(p + i);
    uint8_t seq = p[i + 3];
    const uint8_t *payload = p + i + 4;
    int continuation = *cont;
    *cont = len == MAX_PAYLOAD; /* the next packet continues this payload */
    if (up) {
      if (t->my_infile) {
        /* LOCAL INFILE content, ended by an empty packet; the server's answer follows */
        if (len == 0 && !continuation) {
          t->my_infile = 0;
          t->my_state = M_FIRST;
        }
      } else if (!continuation) {
        size_t need = len < 64 ? len : 64;
        if (len > t->max_message || len == MAX_PAYLOAD || seq != 0) {
          *cont = continuation;
          *stop = R_HANDBACK;
          return i;
        }
        if (n - i < 4 + need) {
          *cont = continuation;
          return i;
        }
        if (!client_command(t, payload, len, need, now_ms)) {
          *cont = continuation;
          *stop = R_HANDBACK;
          return i;
        }
      }
    } else if (!continuation) {
      size_t need = down_need(t, len);
      if (n - i < 4 + need) {
        *cont = continuation;
        return i;
      }
      if (len == MAX_PAYLOAD && t->my_state != M_ROWS) {
        *cont = continuation;
        return fail(t, up, i, stop, "oversized packet from the server outside a row");
      }
      const char *why = NULL;
      int r = server_packet(t, payload, len, need, &why);
      if (r != 0) {
        *cont = continuation;
        if (r > 0) {
          *stop = R_HANDBACK;
          return i;
        }
        return fail(t, up, i, stop, why);
      }
    }
    i += 4;
    *left = len;
  }
}
