# A sample python3 driver for the agent's end-to-end tests: it writes what
# it received (environment, working directory, config) to a report file,
# then stays up and prints a line per second.
import json
import os
import time

VERSION = "@VERSION@"


def out_path(settings):
    """The report's path: "out" in the kv or json config, an "out=" line of
    the config file, else report.txt in the working directory's parent."""
    try:
        cfg = json.loads(os.environ.get("FC_DRIVER_CONFIG", "")).get("config", {})
        for kv in cfg.get("kv") or []:
            if kv.get("key") == "out":
                return kv.get("value")
        js = cfg.get("json")
        if isinstance(js, dict) and isinstance(js.get("out"), str):
            return js["out"]
    except Exception:
        pass
    for line in (settings or "").splitlines():
        if line.startswith("out="):
            return line[4:]
    return os.path.join("..", "report.txt")


def main():
    settings = None
    if os.path.exists("settings.ini"):
        with open("settings.ini", "rb") as f:
            settings = f.read().decode("utf-8", "replace")
    rec = {
        "version": VERSION,
        "pid": str(os.getpid()),
        "cwd": os.getcwd(),
        "files": "\n".join(sorted(os.listdir("."))),
        "env": "\n".join(sorted(os.environ)),
    }
    for k in ("FUNCTION_ID", "FUNCTION_NAME", "FC_DRIVER_CONFIG", "DRIVERHUB_CONFIG", "LD_LIBRARY_PATH"):
        if k in os.environ:
            rec[k] = os.environ[k]
    path = os.environ.get("DRIVERHUB_CONFIG")
    if path:
        try:
            with open(path) as f:
                rec["DRIVERHUB_CONFIG_CONTENT"] = f.read()
        except OSError as e:
            rec["DRIVERHUB_CONFIG_ERROR"] = str(e)
    if settings is not None:
        rec["settings"] = settings
    out = out_path(settings)
    tmp = "%s.tmp.%d" % (out, os.getpid())
    with open(tmp, "w") as f:
        for k, v in rec.items():
            f.write(k + "=" + v.encode("utf-8", "surrogateescape").hex() + "\n")
    os.replace(tmp, out)
    n = 0
    while True:
        n += 1
        print("tick %d %s %s" % (n, os.environ.get("FUNCTION_NAME", "?"), VERSION), flush=True)
        time.sleep(1)


main()
