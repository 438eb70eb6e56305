# A sample driver that outgrows its memory limit: after the health period it
# allocates and touches memory, 1 MiB at a time, up to 256 MiB, then holds it.
import time

print("memhog @VERSION@ waiting", flush=True)
time.sleep(4)
chunks = []
while len(chunks) < 256:
    chunks.append(bytearray(b"\x01") * (1 << 20))
    print("memhog holds %d MiB" % len(chunks), flush=True)
    time.sleep(0.02)
while True:
    time.sleep(1)
