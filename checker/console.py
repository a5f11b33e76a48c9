"""The `rxcheck` console script: the command line, where Ctrl-C at any moment, even while it loads, ends quietly."""

import signal
import sys


def main() -> None:
    try:
        from rxcheck.cli import app

        app()
    except KeyboardInterrupt:
        print("rxcheck: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        # The command is done (its threads and worker processes ended with it) and Python exits: at the end of that it
        # puts Ctrl-C back to killing the process outright, unless Ctrl-C is ignored. Nothing is left to interrupt.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
