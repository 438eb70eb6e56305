# A sample driver version that exits at once: it never stays up.
import sys

print("exiting at once with status 3", flush=True)
sys.exit(3)
