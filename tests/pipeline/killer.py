"""Stand-ins for extract_one used by tests: one dies like an out-of-memory kill, one is slow."""

import os
import signal

from genrekit.pipeline.extraction.worker import extract_one


def extract_one_or_die(task, config):
    if "doomed" in task["path"]:
        os.kill(os.getpid(), signal.SIGKILL)
    return extract_one(task, config)


def extract_one_slowly(task, config):
    """Takes at least 0.3 s per file, so a test can interrupt a run while batches are in flight."""
    import time

    time.sleep(0.3)
    return extract_one(task, config)
