# A hostile python3 driver for the agent's trust tests (SPEC §12): it tries
# to read what no driver may read and to write where no driver may write,
# and writes one line per attempt, DENIED or ALLOWED, to trust-report.txt
# in its working directory (and to its output). Its json config names the
# targets only the test knows: the agent's pid, the secret file, another
# driver ("victim") with its pid and working directory. With
# "identity_only" it attempts nothing and only says who it runs as.
import json
import os
import time

MARKERS = ("DRIVERHUB_GATEWAY_SECRET", "DRIVERHUB_E2E_CANARY", "dhg_")


def config():
    try:
        return json.loads(os.environ.get("FC_DRIVER_CONFIG", "")).get("config", {}).get("json") or {}
    except Exception:
        return {}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def attempt(results, name, action):
    try:
        detail = action()
    except OSError as e:
        results.append("DENIED %s: %s" % (name, e.strerror or e))
        return
    results.append("ALLOWED %s: %s" % (name, detail))


def secret_from(path):
    """Reads an environment, ALLOWED only when it holds the agent's."""
    def action():
        env = read(path).decode("utf-8", "replace")
        if any(m in env for m in MARKERS):
            return "holds the agent's environment"
        raise OSError(0, "readable, but holds no secret (the driver's own environment)")
    return action


def others(path):
    """Lists a directory, ALLOWED when it shows more than the driver's own
    directory (a container's skeleton of the path to it shows just that)."""
    own = os.path.basename(os.path.dirname(os.getcwd()))
    def action():
        names = [n for n in os.listdir(path) if n != own]
        if not names:
            raise OSError(0, "shows nothing but the driver's own directory")
        return ",".join(names)
    return action


def write(path):
    def action():
        with open(path, "w") as f:
            f.write("hostile")
        os.remove(path)
        return "wrote " + path
    return action


def identity():
    status = read("/proc/self/status").decode()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return "id uid=%d gid=%d groups=%s nnp=%s capeff=%s" % (
        os.getuid(), os.getgid(), ",".join(str(g) for g in sorted(os.getgroups())) or "-",
        fields.get("NoNewPrivs", "?").strip(), fields.get("CapEff", "?").strip())


def main():
    cfg = config()
    cwd = os.getcwd()
    agent_dir = os.path.dirname(os.path.dirname(os.path.dirname(cwd)))
    r = []
    if not cfg.get("identity_only"):
        attempts(r, cfg, agent_dir)
    r.append(identity())
    r.append("pid %d" % os.getpid())
    tmp = "trust-report.txt.tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(r) + "\n")
    os.replace(tmp, "trust-report.txt")
    for line in r:
        print(line, flush=True)


def attempts(r, cfg, agent_dir):
    attempt(r, "agent secret via /proc/<ppid>/environ", secret_from("/proc/%d/environ" % os.getppid()))
    if cfg.get("agent_pid"):
        pid = cfg["agent_pid"]
        attempt(r, "/proc/<agent>/environ", lambda: "%d bytes" % len(read("/proc/%d/environ" % pid)))
        attempt(r, "/proc/<agent>/cwd", lambda: os.readlink("/proc/%d/cwd" % pid))
    if cfg.get("secret_file"):
        attempt(r, "the secret file", lambda: "%d bytes" % len(read(cfg["secret_file"])))
    attempt(r, "/etc/shadow", lambda: "%d bytes" % len(read("/etc/shadow")))
    attempt(r, "the agent's state", lambda: "%d bytes" % len(read(os.path.join(agent_dir, "state.json"))))
    attempt(r, "the drivers' uids", lambda: "%d bytes" % len(read(os.path.join(agent_dir, "driver-uids.json"))))
    for d in ("cache", "logs", "runtime", "drivers"):
        attempt(r, "list the agent's %s/" % d, others(os.path.join(agent_dir, d)))
    victim = cfg.get("victim")
    if victim:
        vdir = os.path.join(agent_dir, "drivers", victim)
        attempt(r, "list the victim's directory", lambda: ",".join(os.listdir(vdir)))
        attempt(r, "the victim's log", lambda: "%d bytes" % len(read(os.path.join(agent_dir, "logs", victim + ".log"))))
        attempt(r, "write into the victim's directory", write(os.path.join(vdir, "hostile.txt")))
    if cfg.get("victim_dir"):
        vwd = cfg["victim_dir"]
        attempt(r, "the victim's report", lambda: "%d bytes" % len(read(os.path.join(vwd, "report.txt"))))
        attempt(r, "the victim's config", lambda: "%d bytes" % len(read(os.path.join(vwd, ".driverhub-config.json"))))
    if cfg.get("victim_pid"):
        vpid = cfg["victim_pid"]
        attempt(r, "/proc/<victim>/environ", lambda: "%d bytes" % len(read("/proc/%d/environ" % vpid)))
        attempt(r, "/proc/<victim>/cwd", lambda: os.readlink("/proc/%d/cwd" % vpid))
        attempt(r, "signal the victim", lambda: os.kill(vpid, 0) or "signalled")
    for path in (os.path.join(agent_dir, "hostile.txt"), os.path.join(agent_dir, "drivers", "hostile.txt"),
                 "/etc/hostile.txt", "/usr/hostile.txt", "/hostile.txt"):
        attempt(r, "write " + path, write(path))


main()
while True:  # stay up, as a driver does
    time.sleep(3600)
