{
  "targets": [
    {
      "target_name": "smgate_relay",
      "sources": ["src/addon.c", "src/relay_loop.c", "src/pg_tracker.c", "src/mysql_tracker.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
