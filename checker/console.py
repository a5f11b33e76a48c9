"""The `rxcheck` console script: the command line, where Ctrl-C at any moment, even while it loads, ends quietly."""

import sys


def main() -> None:
    try:
        from rxcheck.cli import app

        app()
    except KeyboardInterrupt:
        print("rxcheck: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
