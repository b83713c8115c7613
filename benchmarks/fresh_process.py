"""Measuring one case per interpreter, so that its peak memory is its own."""

import json
import subprocess
import sys


def measure_in_fresh_process(script, *args):
    """Runs ``python script --one ARGS...`` and returns the JSON row it prints."""
    out = subprocess.run(
        [sys.executable, script, "--one", *[str(a) for a in args]],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)
