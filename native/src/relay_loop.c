/*
 * smgate native relay: one thread, one epoll set, many sessions.
 *
 * Each session is two non-blocking sockets and two directions (up: client to server, down: server to client).
 * A direction reads into its buffer only when everything read before has been written (that is the
 * backpressure: a slow reader stops the reads from its peer), scans the bytes with the protocol tracker,
 * and sends them on at once; what the kernel does not take is sent when the destination becomes writable.
 * An incomplete message head at the end of a read waits (unforwarded) in front of the next read.
 *
 * Locking: one mutex per relay, held by the thread while it handles a batch of events and by JavaScript's
 * calls. A session that ends (or is taken back) is removed from the epoll set and the table at once and freed
 * at the end of the batch, so events already fetched for it are skipped safely. The relay never closes a
 * socket: JavaScript owns the file descriptors and closes them after it got the session back.
 */
#define _GNU_SOURCE
#include "relay_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TABLE_SIZE 1024

typedef struct session session_t;

typedef struct endpoint {
  session_t *s;
  int fd;
  int client; /* 1 = the client's socket */
  uint32_t mask; /* events currently registered */
} endpoint_t;

typedef struct direction {
  int src, dst;
  uint8_t *mem; /* RELAY_HEADROOM + RELAY_BUF */
  size_t wstart, wend; /* pending write: mem[wstart, wend) */
  size_t carry;        /* incomplete message head kept for the next read */
  uint8_t carry_buf[RELAY_HEADROOM];
  double bytes;
} direction_t;

struct session {
  uint32_t id;
  endpoint_t cep, sep;
  direction_t up, down;
  tracker_t t;
  int drain_requested;
  int finished; /* reason, once out of the relay */
  /* 1: a client command waits for JavaScript once no response is in progress;
   * 2: a server packet waits for JavaScript (written bytes first) */
  int handback;
  /* a protocol error, reported once the bytes before the bad message are written (no reads until then) */
  int stop_reason;
  uint8_t *held, *held_server;
  size_t held_len, held_server_len;
  session_t *next;       /* hash chain */
  session_t *grave_next; /* to free at the end of the batch */
};

struct relay {
  int ep;
  int wakefd;
  int wake_tag;
  pthread_t thread;
  int running;
  int quit;
  pthread_mutex_t lock;
  session_t *table[TABLE_SIZE];
  int count;
  session_t *graveyard;
  relay_notify_fn notify;
  void *ctx;
};

static double now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec * 1000.0 + (double)(tv.tv_usec / 1000);
}

static session_t **slot(relay_t *r, uint32_t id) {
  session_t **p = &r->table[id % TABLE_SIZE];
  while (*p && (*p)->id != id) p = &(*p)->next;
  return p;
}

static void fill_event(session_t *s, relay_event_t *ev) {
  memset(ev, 0, sizeof *ev);
  ev->id = s->id;
  ev->reason = s->finished;
  ev->outstanding = s->t.outstanding;
  ev->busy_since = s->t.busy_since;
  ev->tx = s->t.tx;
  ev->client_terminated = s->t.client_terminated;
  ev->server_fatal = s->t.server_fatal;
  ev->up_mid = s->t.up_left > 0 || s->up.carry > 0 || s->up.wstart < s->up.wend || s->t.my_cont_up || s->t.my_infile;
  /* inside a packet, not inside a response: MySQL may end a response with an ERR packet of smgate's */
  ev->down_mid = s->t.down_left > 0 || s->down.carry > 0 || s->down.wstart < s->down.wend || s->t.my_cont_down;
  ev->bytes_up = s->up.bytes;
  ev->bytes_down = s->down.bytes;
  memcpy(ev->error, s->t.error, sizeof ev->error);
}

/* Take a session out of the relay: no more events for its sockets; freed at the end of the batch. */
static void unlink_session(relay_t *r, session_t *s, int reason) {
  s->finished = reason;
  epoll_ctl(r->ep, EPOLL_CTL_DEL, s->cep.fd, NULL);
  epoll_ctl(r->ep, EPOLL_CTL_DEL, s->sep.fd, NULL);
  session_t **p = slot(r, s->id);
  if (*p == s) *p = s->next;
  r->count--;
  s->grave_next = r->graveyard;
  r->graveyard = s;
}

static uint8_t *join(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t *len) {
  *len = 0;
  if (alen + blen == 0) return NULL;
  uint8_t *out = malloc(alen + blen);
  if (!out) return NULL;
  memcpy(out, a, alen);
  if (blen) memcpy(out + alen, b, blen);
  *len = alen + blen;
  return out;
}

static void finish(relay_t *r, session_t *s, int reason) {
  if (s->finished) return;
  unlink_session(r, s, reason);
  relay_event_t *ev = calloc(1, sizeof *ev);
  if (!ev) return;
  fill_event(s, ev);
  if (reason == R_HANDBACK) {
    /* the unforwarded bytes of each direction: what the tracker stopped at, or an incomplete message head */
    ev->held = join(s->up.carry_buf, s->up.carry, s->held, s->held_len, &ev->held_len);
    ev->held_server = join(s->down.carry_buf, s->down.carry, s->held_server, s->held_server_len, &ev->held_server_len);
  }
  r->notify(r->ctx, ev);
}

static void free_session(session_t *s) {
  free(s->up.mem);
  free(s->down.mem);
  free(s->held);
  free(s->held_server);
  free(s);
}

static void free_graveyard(relay_t *r) {
  while (r->graveyard) {
    session_t *s = r->graveyard;
    r->graveyard = s->grave_next;
    free_session(s);
  }
}

static int set_mask(relay_t *r, endpoint_t *e, uint32_t mask) {
  if (e->mask == mask) return 0;
  struct epoll_event ev = {.events = mask, .data.ptr = e};
  e->mask = mask;
  return epoll_ctl(r->ep, EPOLL_CTL_MOD, e->fd, &ev);
}

static void update_masks(relay_t *r, session_t *s) {
  uint32_t c = 0, v = 0;
  if (s->up.wstart == s->up.wend && !s->handback && !s->stop_reason) c |= EPOLLIN;
  if (s->down.wstart < s->down.wend) c |= EPOLLOUT;
  if (s->down.wstart == s->down.wend && s->handback != 2 && !s->stop_reason) v |= EPOLLIN;
  if (s->up.wstart < s->up.wend) v |= EPOLLOUT;
  set_mask(r, &s->cep, c);
  set_mask(r, &s->sep, v);
}

/* Send what is pending in d. Returns 0, or the reason that ends the session. */
static int write_out(session_t *s, direction_t *d, int up) {
  while (d->wstart < d->wend) {
    ssize_t w = send(d->dst, d->mem + d->wstart, d->wend - d->wstart, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      d->wstart += (size_t)w;
      d->bytes += (double)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    snprintf(s->t.error, sizeof s->t.error, "%s", strerror(errno));
    return up ? R_SERVER_ERROR : R_CLIENT_ERROR;
  }
  d->wstart = d->wend = 0;
  return 0;
}

static size_t scan(session_t *s, int up, const uint8_t *p, size_t n, int *stop, double now) {
  return s->t.proto == PROTO_MYSQL ? mysql_scan(&s->t, up, p, n, stop, now) : pg_scan(&s->t, up, p, n, stop, now);
}

/* Read from d's source while everything read so far was written. Returns 0 or the reason to end. */
static int pump(session_t *s, direction_t *d, int up, double now) {
  for (int round = 0; round < 4 && d->wstart == d->wend && !s->handback && !s->stop_reason; round++) {
    uint8_t *base = d->mem + RELAY_HEADROOM;
    ssize_t got = recv(d->src, base, RELAY_BUF, 0);
    if (got == 0) return up ? R_CLIENT_EOF : R_SERVER_EOF;
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      snprintf(s->t.error, sizeof s->t.error, "%s", strerror(errno));
      return up ? R_CLIENT_ERROR : R_SERVER_ERROR;
    }
    uint8_t *start = base - d->carry;
    memcpy(start, d->carry_buf, d->carry);
    size_t total = d->carry + (size_t)got;
    int stop = R_NONE;
    size_t fwd = scan(s, up, start, total, &stop, now);
    size_t rest = total - fwd;
    d->carry = 0;
    if (stop == R_NONE && rest > 0) {
      if (rest > RELAY_HEADROOM) {
        snprintf(s->t.error, sizeof s->t.error, "message head too long");
        stop = up ? R_PROTOCOL_CLIENT : R_PROTOCOL_SERVER;
      } else {
        memcpy(d->carry_buf, start + fwd, rest);
        d->carry = rest;
      }
    }
    d->wstart = (size_t)(start - d->mem);
    d->wend = d->wstart + fwd;
    int end = write_out(s, d, up);
    if (end) return end;
    if (stop == R_HANDBACK) {
      uint8_t *held = malloc(rest ? rest : 1);
      if (!held) return up ? R_CLIENT_ERROR : R_SERVER_ERROR;
      memcpy(held, start + fwd, rest);
      if (up) {
        s->held = held;
        s->held_len = rest;
      } else {
        s->held_server = held;
        s->held_server_len = rest;
      }
      s->handback = up ? 1 : 2;
      return 0;
    }
    if (stop != R_NONE) {
      /* the valid messages before the bad one reach the peer first (JavaScript then sends its error) */
      if (d->wstart < d->wend) {
        s->stop_reason = stop;
        return 0;
      }
      return stop;
    }
    if ((size_t)got < RELAY_BUF) return 0; /* the socket is most likely empty now */
  }
  return 0;
}

static int written(session_t *s) { return s->up.wstart == s->up.wend && s->down.wstart == s->down.wend; }

static int quiet(session_t *s) {
  return s->up.wstart == s->up.wend && s->down.wstart == s->down.wend && s->up.carry == 0 && s->down.carry == 0;
}

static void after_event(relay_t *r, session_t *s) {
  if (s->finished) return;
  if (s->stop_reason) {
    if (s->up.wstart == s->up.wend && s->down.wstart == s->down.wend) finish(r, s, s->stop_reason);
    else update_masks(r, s);
    return;
  }
  if ((s->handback == 1 && written(s) && s->t.outstanding == 0 && tracker_idle_responses(&s->t)) ||
      (s->handback == 2 && written(s))) {
    finish(r, s, R_HANDBACK);
    return;
  }
  if (s->drain_requested && !s->handback && quiet(s) && tracker_idle(&s->t)) {
    finish(r, s, R_IDLE);
    return;
  }
  update_masks(r, s);
}

/* The reason that ends a session whose socket reported EPOLLHUP/EPOLLERR (its pending error, if any, in t.error). */
static int socket_gone(session_t *s, endpoint_t *e) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) return e->client ? R_CLIENT_EOF : R_SERVER_EOF;
  snprintf(s->t.error, sizeof s->t.error, "%s", strerror(err));
  return e->client ? R_CLIENT_ERROR : R_SERVER_ERROR;
}

static void handle(relay_t *r, endpoint_t *e, uint32_t events, double now) {
  session_t *s = e->s;
  int end = 0;
  if (events & EPOLLOUT) {
    /* the socket can take more: it is the destination of the other side's direction */
    direction_t *d = e->client ? &s->down : &s->up;
    end = write_out(s, d, !e->client);
  }
  if (!end && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
    direction_t *d = e->client ? &s->up : &s->down;
    end = pump(s, d, e->client, now);
    /* EPOLLHUP/EPOLLERR cannot be masked: a reset socket whose reads wait (for the other side's writes, a
     * handback or a pending protocol error) would wake the loop forever. Such a socket is gone: end now. */
    if (!end && (events & (EPOLLHUP | EPOLLERR)) && (d->wstart < d->wend || s->handback || s->stop_reason))
      end = socket_gone(s, e);
  }
  if (end) {
    finish(r, s, end);
    return;
  }
  after_event(r, s);
}

static void *loop(void *arg) {
  relay_t *r = arg;
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(r->ep, evs, 64, -1);
    if (n < 0 && errno != EINTR) break;
    pthread_mutex_lock(&r->lock);
    double now = now_ms();
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == &r->wake_tag) {
        uint64_t v;
        ssize_t ignored = read(r->wakefd, &v, sizeof v);
        (void)ignored;
        continue;
      }
      endpoint_t *e = evs[i].data.ptr;
      if (!e->s->finished) handle(r, e, evs[i].events, now);
    }
    free_graveyard(r);
    int quit = r->quit;
    pthread_mutex_unlock(&r->lock);
    if (quit) break;
  }
  return NULL;
}

relay_t *relay_create(relay_notify_fn notify, void *ctx, char *err, size_t errlen) {
  relay_t *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->notify = notify;
  r->ctx = ctx;
  pthread_mutex_init(&r->lock, NULL);
  r->ep = epoll_create1(EPOLL_CLOEXEC);
  r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->ep < 0 || r->wakefd < 0) {
    snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
    if (r->ep >= 0) close(r->ep);
    if (r->wakefd >= 0) close(r->wakefd);
    free(r);
    return NULL;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->wake_tag};
  epoll_ctl(r->ep, EPOLL_CTL_ADD, r->wakefd, &ev);
  if (pthread_create(&r->thread, NULL, loop, r) != 0) {
    snprintf(err, errlen, "pthread_create failed");
    close(r->ep);
    close(r->wakefd);
    free(r);
    return NULL;
  }
  r->running = 1;
  return r;
}

static void wake(relay_t *r) {
  uint64_t one = 1;
  ssize_t ignored = write(r->wakefd, &one, sizeof one);
  (void)ignored;
}

int relay_attach(relay_t *r, uint32_t id, int client_fd, int server_fd, const tracker_t *init, char *err,
                 size_t errlen) {
  session_t *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->up.mem = malloc(RELAY_HEADROOM + RELAY_BUF);
  s->down.mem = malloc(RELAY_HEADROOM + RELAY_BUF);
  if (!s->up.mem || !s->down.mem) {
    free_session(s);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->id = id;
  s->t = *init;
  s->cep = (endpoint_t){.s = s, .fd = client_fd, .client = 1, .mask = EPOLLIN};
  s->sep = (endpoint_t){.s = s, .fd = server_fd, .client = 0, .mask = EPOLLIN};
  s->up.src = client_fd;
  s->up.dst = server_fd;
  s->down.src = server_fd;
  s->down.dst = client_fd;
  pthread_mutex_lock(&r->lock);
  if (*slot(r, id)) {
    pthread_mutex_unlock(&r->lock);
    free_session(s);
    snprintf(err, errlen, "session %u is already relayed", id);
    return -1;
  }
  struct epoll_event ce = {.events = EPOLLIN, .data.ptr = &s->cep};
  struct epoll_event se = {.events = EPOLLIN, .data.ptr = &s->sep};
  if (epoll_ctl(r->ep, EPOLL_CTL_ADD, client_fd, &ce) != 0) {
    snprintf(err, errlen, "epoll_ctl(client): %s", strerror(errno));
    pthread_mutex_unlock(&r->lock);
    free_session(s);
    return -1;
  }
  if (epoll_ctl(r->ep, EPOLL_CTL_ADD, server_fd, &se) != 0) {
    snprintf(err, errlen, "epoll_ctl(server): %s", strerror(errno));
    epoll_ctl(r->ep, EPOLL_CTL_DEL, client_fd, NULL);
    pthread_mutex_unlock(&r->lock);
    free_session(s);
    return -1;
  }
  s->next = r->table[id % TABLE_SIZE];
  r->table[id % TABLE_SIZE] = s;
  r->count++;
  pthread_mutex_unlock(&r->lock);
  return 0;
}

int relay_drain(relay_t *r, uint32_t id) {
  pthread_mutex_lock(&r->lock);
  session_t *s = *slot(r, id);
  if (s) {
    s->drain_requested = 1;
    after_event(r, s);
  }
  pthread_mutex_unlock(&r->lock);
  if (s) wake(r); /* frees the session at once if it just finished */
  return s != NULL;
}

int relay_abort(relay_t *r, uint32_t id, relay_event_t *out) {
  pthread_mutex_lock(&r->lock);
  session_t *s = *slot(r, id);
  if (s) {
    unlink_session(r, s, R_ABORTED);
    fill_event(s, out);
  }
  pthread_mutex_unlock(&r->lock);
  if (s) wake(r);
  return s != NULL;
}

int relay_state(relay_t *r, uint32_t id, relay_event_t *out) {
  pthread_mutex_lock(&r->lock);
  session_t *s = *slot(r, id);
  if (s) fill_event(s, out);
  pthread_mutex_unlock(&r->lock);
  return s != NULL;
}

int relay_count(relay_t *r) {
  pthread_mutex_lock(&r->lock);
  int n = r->count;
  pthread_mutex_unlock(&r->lock);
  return n;
}

void relay_destroy(relay_t *r) {
  if (!r) return;
  pthread_mutex_lock(&r->lock);
  r->quit = 1;
  pthread_mutex_unlock(&r->lock);
  wake(r);
  if (r->running) pthread_join(r->thread, NULL);
  for (int i = 0; i < TABLE_SIZE; i++) {
    while (r->table[i]) {
      session_t *s = r->table[i];
      r->table[i] = s->next;
      free_session(s);
    }
  }
  free_graveyard(r);
  close(r->ep);
  close(r->wakefd);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

void relay_event_free(relay_event_t *ev) {
  if (!ev) return;
  free(ev->held);
  free(ev->held_server);
  free(ev);
}
