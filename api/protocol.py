"""uvicorn's h11 protocol with read deadlines: slow clients are cut off.

uvicorn has a keep-alive timeout between requests, but nothing bounds how long a request takes to arrive: a
client trickling one header byte at a time keeps its connection (and its slot) forever. `guarded_h11` gives
uvicorn a protocol class where a request's line and headers must arrive within `header_timeout_s` of the
connection opening or of the previous response (then 408 and close), and its body within `body_timeout_s` of
its headers (then close). The size of the header block is bounded by h11 itself (`h11_max_incomplete_event_size`,
the `max_header_bytes` setting); see `api/server.py`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

Phase = Literal["head", "body"] | None

_TIMEOUT_BODY = json.dumps(
    {"error": {"code": "request_timeout", "message": "the request headers did not arrive in time"}}
).encode()
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"x-content-type-options: nosniff\r\ncache-control: no-store\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


def guarded_h11(*, header_timeout_s: float, body_timeout_s: float) -> type[H11Protocol]:
    """An `H11Protocol` subclass with these deadlines, for `uvicorn.Config(http=...)`."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s},
    )


class GuardedH11Protocol(H11Protocol):
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: Phase = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _follow(self) -> None:
        """Start the deadline of what the client is sending now, when that changed."""
        state = self.conn.their_state
        phase: Phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._disarm()
        self._phase = phase
        if phase is not None and not self.transport.is_closing():
            timeout = self.header_timeout_s if phase == "head" else self.body_timeout_s
            self._deadline = self.loop.call_later(timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        partial_head = self._phase == "head" and bool(self.conn.trailing_data[0])
        self.logger.info("closing a connection: the request %s did not arrive in time", self._phase)
        if partial_head:
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()
