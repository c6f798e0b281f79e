"""Running a development server in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
from collections.abc import Callable


def wait_for_a_stop_signal(stop: Callable[[], None]) -> None:
    """Block until SIGINT or SIGTERM, then call ``stop`` (always, even on an error)."""
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        signal.sigwait(stop_signals)
    finally:
        stop()
