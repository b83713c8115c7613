"""Runs gridtsne holding at one named write step, for tests that kill or
signal it there: it replaces the writer's no-op ``_step``, which names the
steps of a write; nothing else changes.

    python tests/hold.py STEP RELEASE_FILE cli ARGS...      the command line
    python tests/hold.py STEP RELEASE_FILE regrid DATASET KEY NAME=INT...

At STEP it prints ``GRIDTSNE_HOLD STEP`` on stderr and waits until
RELEASE_FILE exists ("-": forever).
"""

import os
import signal
import sys
import time

from gridtsne.fo import writer


def main(step, release, command, *args):
    def hold(name):
        if name == step:
            print("GRIDTSNE_HOLD %s" % name, file=sys.stderr, flush=True)
            while release == "-" or not os.path.exists(release):
                time.sleep(0.05)

    writer._step = hold
    # ^C as a terminal delivers it: a test run started in the background by a
    # non-interactive shell (`make test &`) makes its children ignore SIGINT
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if command == "cli":
        from gridtsne import cli

        return cli.main(list(args))
    if command == "regrid":
        import fiftyone as fo

        import gridtsne

        name, key, *options = args
        changes = {k: int(v) for k, v in (o.split("=") for o in options)}
        gridtsne.regrid(fo.load_dataset(name), key, progress=False, **changes)
        return 0
    raise SystemExit("unknown command %r" % command)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
