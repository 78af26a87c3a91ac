/*
 * MySQL/MariaDB packet tracker for the native relay (command phase). Placeholder until the response state
 * machine lands: every client command is handed back to JavaScript, so a MySQL session never stays native.
 */
#include "relay.h"

size_t mysql_scan(tracker_t *t, int up, const uint8_t *p, size_t n, int *stop, double now_ms) {
  (void)t;
  (void)p;
  (void)now_ms;
  *stop = up && n > 0 ? R_HANDBACK : R_NONE;
  return up ? 0 : n;
}
