#!/usr/bin/env python3
# Test helper: runs a command on a pseudo-terminal and answers prompts.
# usage: pty-drive.py '<json: {"argv": [...], "steps": [[expect_substring, reply], ...]}>'
# Prints everything the terminal showed (base64 not needed: utf-8 text) and exits with the command's status.
import json, os, pty, select, sys, time

spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(spec["argv"][0], spec["argv"])

seen = b""
def read_until(needle, timeout=60.0):
    global seen
    end = time.time() + timeout
    while needle.encode() not in seen:
        left = end - time.time()
        if left <= 0:
            raise SystemExit("timeout waiting for %r; got %r" % (needle, seen.decode(errors="replace")))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                raise SystemExit("terminal closed waiting for %r; got %r" % (needle, seen.decode(errors="replace")))
            if not chunk:
                raise SystemExit("eof waiting for %r" % needle)
            seen += chunk

for expect, reply in spec["steps"]:
    read_until(expect)
    time.sleep(0.05)
    os.write(fd, (reply + "\r").encode())
    # consume up to the prompt so the next search starts after it
    idx = seen.find(expect.encode())
    seen_before = seen[: idx + len(expect)]
    sys.stdout.write(seen_before.decode(errors="replace"))
    seen = seen[idx + len(expect):]

while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
sys.stdout.write(seen.decode(errors="replace"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
