"""Fair turns between API keys for audit URLs: round-robin over keys, not first come, first served.

Each URL queued for checking gets a turn number, and URLs are checked lowest turn first (ties: first queued). An
owner's URLs take consecutive turns, starting at the earliest turn still waiting in the queue (`serving`) or after
its own last one, whichever is later. So an owner arriving behind a huge audit starts level with it: its first URL
shares a turn with the huge audit's next one, its second the turn after, and so on, and the two alternate; an owner
with nothing queued never banks turns for later (it starts at `serving`, not where it stopped long ago). This is
start-time fair queuing with equal weights. When nothing waits, a newcomer starts after every turn handed out
(`latest`), so it cannot jump ahead of URLs queued later by owners that were busy.

The in-process runner keeps turns in memory (`api/jobs.py`); distributed audits keep each owner's next turn in
PostgreSQL and hand the turn to Procrastinate as the job's priority, negated (it runs the highest priority first).
That priority is a 32-bit integer: turns last for about two billion URLs queued in one database.
"""

from __future__ import annotations


def first_turn(own_next: int, *, serving: int | None, latest: int) -> int:
    """The first turn of an owner's next URLs: `own_next` is the turn after its last one, `serving` the earliest
    turn still waiting (None when nothing waits), `latest` the turn after every turn handed out so far."""
    return max(own_next, latest if serving is None else serving)
