/*
 * N-API binding of the native relay: one relay thread per JavaScript environment (so worker threads each get
 * their own), events delivered to a JavaScript callback through a thread-safe function.
 *
 *   init(onEvent)                      start the relay thread; onEvent(event) for every session that leaves it
 *   attach(id, clientFd, serverFd, o)  o = { proto, maxMessage, outstanding, busySince, tx, caps, localInfile }
 *   drain(id) / abort(id) / state(id)  abort and state return the event object (or undefined)
 *   count()                            sessions in the relay
 */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "relay_loop.h"

typedef struct instance {
  relay_t *relay;
  napi_threadsafe_function tsfn;
} instance_t;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "smgate native relay: " #call);     \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static instance_t *instance(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static void set_num(napi_env env, napi_value obj, const char *name, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, obj, name, x);
}

static void set_bool(napi_env env, napi_value obj, const char *name, int v) {
  napi_value x;
  napi_get_boolean(env, v != 0, &x);
  napi_set_named_property(env, obj, name, x);
}

static napi_value event_object(napi_env env, relay_event_t *ev) {
  napi_value obj;
  napi_create_object(env, &obj);
  set_num(env, obj, "id", ev->id);
  set_num(env, obj, "reason", ev->reason);
  set_num(env, obj, "outstanding", ev->outstanding);
  set_num(env, obj, "busySince", ev->busy_since);
  set_num(env, obj, "tx", (unsigned char)ev->tx);
  set_bool(env, obj, "clientTerminated", ev->client_terminated);
  set_bool(env, obj, "serverFatal", ev->server_fatal);
  set_bool(env, obj, "upMid", ev->up_mid);
  set_bool(env, obj, "downMid", ev->down_mid);
  set_num(env, obj, "bytesUp", ev->bytes_up);
  set_num(env, obj, "bytesDown", ev->bytes_down);
  napi_value s;
  napi_create_string_utf8(env, ev->error, strnlen(ev->error, sizeof ev->error), &s);
  napi_set_named_property(env, obj, "error", s);
  if (ev->held_len > 0) {
    void *copy;
    napi_value buf;
    if (napi_create_buffer_copy(env, ev->held_len, ev->held, &copy, &buf) == napi_ok)
      napi_set_named_property(env, obj, "held", buf);
  }
  if (ev->held_server_len > 0) {
    void *copy;
    napi_value buf;
    if (napi_create_buffer_copy(env, ev->held_server_len, ev->held_server, &copy, &buf) == napi_ok)
      napi_set_named_property(env, obj, "heldServer", buf);
  }
  return obj;
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  relay_event_t *ev = data;
  if (env != NULL && cb != NULL) {
    napi_value undefined, arg;
    napi_get_undefined(env, &undefined);
    arg = event_object(env, ev);
    napi_call_function(env, undefined, cb, 1, &arg, NULL);
  }
  relay_event_free(ev);
}

static void notify(void *ctx, relay_event_t *ev) {
  instance_t *in = ctx;
  if (napi_call_threadsafe_function(in->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) relay_event_free(ev);
}

static void cleanup(void *arg) {
  instance_t *in = arg;
  relay_destroy(in->relay);
  in->relay = NULL;
}

static napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  instance_t *in = instance(env);
  if (in->relay) {
    napi_throw_error(env, NULL, "smgate native relay: already started");
    return NULL;
  }
  napi_value name;
  CHECK(napi_create_string_utf8(env, "smgate-relay", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &in->tsfn));
  CHECK(napi_unref_threadsafe_function(env, in->tsfn));
  char err[160] = {0};
  in->relay = relay_create(notify, in, err, sizeof err);
  if (!in->relay) {
    napi_throw_error(env, NULL, err);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, cleanup, in);
  return NULL;
}

static double get_num(napi_env env, napi_value obj, const char *name, double dflt) {
  napi_value v;
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return dflt;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return dflt;
  double d;
  bool b;
  if (napi_get_value_double(env, v, &d) == napi_ok) return d;
  if (napi_get_value_bool(env, v, &b) == napi_ok) return b ? 1 : 0; /* e.g. localInfile: true */
  return dflt;
}

static relay_t *relay_of(napi_env env) {
  instance_t *in = instance(env);
  if (!in || !in->relay) {
    napi_throw_error(env, NULL, "smgate native relay: not started");
    return NULL;
  }
  return in->relay;
}

static napi_value Attach(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = relay_of(env);
  if (!r) return NULL;
  uint32_t id;
  int32_t cfd, sfd;
  CHECK(napi_get_value_uint32(env, argv[0], &id));
  CHECK(napi_get_value_int32(env, argv[1], &cfd));
  CHECK(napi_get_value_int32(env, argv[2], &sfd));
  tracker_t t;
  memset(&t, 0, sizeof t);
  t.proto = (int)get_num(env, argv[3], "proto", PROTO_PG);
  t.max_message = (uint32_t)get_num(env, argv[3], "maxMessage", 1 << 30);
  t.outstanding = (int32_t)get_num(env, argv[3], "outstanding", 0);
  t.busy_since = get_num(env, argv[3], "busySince", 0);
  t.tx = (char)get_num(env, argv[3], "tx", 'I');
  t.caps = (uint32_t)get_num(env, argv[3], "caps", 0);
  t.allow_local_infile = (int)get_num(env, argv[3], "localInfile", 0);
  char err[160] = {0};
  if (relay_attach(r, id, cfd, sfd, &t, err, sizeof err) != 0) {
    napi_throw_error(env, NULL, err);
    return NULL;
  }
  return NULL;
}

static napi_value with_id(napi_env env, napi_callback_info info, int (*op)(relay_t *, uint32_t, relay_event_t *)) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = relay_of(env);
  if (!r) return NULL;
  uint32_t id;
  CHECK(napi_get_value_uint32(env, argv[0], &id));
  relay_event_t ev;
  if (!op(r, id, &ev)) return NULL;
  return event_object(env, &ev);
}

static napi_value Abort(napi_env env, napi_callback_info info) { return with_id(env, info, relay_abort); }
static napi_value State(napi_env env, napi_callback_info info) { return with_id(env, info, relay_state); }

static napi_value Drain(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay_t *r = relay_of(env);
  if (!r) return NULL;
  uint32_t id;
  CHECK(napi_get_value_uint32(env, argv[0], &id));
  napi_value out;
  CHECK(napi_get_boolean(env, relay_drain(r, id) != 0, &out));
  return out;
}

static napi_value Count(napi_env env, napi_callback_info info) {
  (void)info;
  instance_t *in = instance(env);
  napi_value out;
  CHECK(napi_create_int32(env, in && in->relay ? relay_count(in->relay) : 0, &out));
  return out;
}

static void free_instance(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

NAPI_MODULE_INIT() {
  instance_t *in = calloc(1, sizeof *in);
  if (!in || napi_set_instance_data(env, in, free_instance, NULL) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
      {"init", NULL, Init, NULL, NULL, NULL, napi_default, NULL},
      {"attach", NULL, Attach, NULL, NULL, NULL, napi_default, NULL},
      {"drain", NULL, Drain, NULL, NULL, NULL, napi_default, NULL},
      {"abort", NULL, Abort, NULL, NULL, NULL, napi_default, NULL},
      {"state", NULL, State, NULL, NULL, NULL, napi_default, NULL},
      {"count", NULL, Count, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
