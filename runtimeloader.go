package driverhub

// The loaders of Node.js and Python drivers (SPEC §7). The original
// platform's function runtime loaded a driver's entry file and stayed up
// once its top-level code had returned: its SDK examples connect and
// return. A loader runs the entry file as if it were run directly
// (`__name__ == "__main__"`, `require.main === module`, the script's own
// argv), then keeps the process alive. An uncaught exception or an
// explicit non-zero exit is a crash, an explicit exit 0 an exit, and
// signals (SIGTERM) stop it as they would stop the script run directly.

// pythonLoader runs as `python3 -c pythonLoader index.py`. The driver runs
// in a fresh __main__ module that stays in sys.modules (runpy would put the
// loader's back once the code returns). A traceback shows the driver's
// frames only, as a direct run would, and ends the process with status 1;
// the main thread then waits on a lock it holds, which a signal handler of
// the driver still interrupts. It imports nothing a direct run does not
// (threading alone adds tens of milliseconds to a start on a gateway).
// Output is line-buffered, as on a terminal: a driver that stays up
// prints to its log, not into a buffer.
const pythonLoader = `import os, sys, _thread
for s in (sys.stdout, sys.stderr):
    if hasattr(s, "reconfigure"):
        s.reconfigure(line_buffering=True)
def _load():
    path = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(path)
    main = type(sys)("__main__")
    main.__file__, main.__builtins__, main.__cached__ = path, __builtins__, None
    sys.modules["__main__"] = main
    try:
        with open(path, "rb") as f:
            code = compile(f.read(), path, "exec")
        exec(code, main.__dict__)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        sys.exit(1)
_load()
_forever = _thread.allocate_lock()
_forever.acquire()
_forever.acquire()
`

// nodeLoader runs as `node -e nodeLoader index.js`. Module.runMain is what
// `node index.js` itself calls: require.main, __filename and
// process.argv[1] are those of a direct run. A referenced timer keeps the
// event loop alive once the entry file has returned; an uncaught exception
// still ends the process with status 1.
const nodeLoader = `const path = require("path"), Module = require("module");
process.argv[1] = path.resolve(process.argv[1]);
setInterval(() => {}, 0x7fffffff);
Module.runMain();
`
