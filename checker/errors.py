"""The exceptions rxcheck raises. Each carries a one-line message meant for the user.

`type` is the `error.type` a result carries; the README lists them as the API's contract.

RxcheckError
├── InvalidURL            invalid_url         the URL cannot be checked (scheme, host, length, port)
├── FetchError            fetch_error         a page could not be fetched (the generic case; rarely seen)
│   ├── BlockedAddress        blocked_address     the target is an address or name rxcheck refuses to contact
│   ├── FetchTimeout          timeout             a timeout, a page deadline or the site deadline ran out
│   ├── DNSError              dns_error           the host name does not resolve
│   ├── ConnectFailed         connect_error       no TCP connection (refused, unreachable, proxy refused)
│   ├── TLSFailed             tls_error           the TLS handshake or certificate check failed
│   ├── ProtocolFailed        protocol_error      the server does not speak HTTP properly (or hung up mid-answer)
│   ├── TooLarge              too_large           a body or its headers passed the byte cap (after decompression)
│   ├── RedirectLoop          redirect_loop       a redirect leads back to a URL already in the chain
│   ├── TooManyRedirects      too_many_redirects  more redirects than `max_redirects`
│   ├── RobotsDisallowed      robots_disallowed   robots.txt forbids fetching the start page
│   ├── NotInArchive          not_in_archive      a replayed run asked for a URL the WARC does not hold
│   └── NoContent             no_content          the start page shows no readable text
│       ├── HTTPStatusError       http_error          the start page answered an HTTP error (`status` says which)
│       └── NotHTML               not_html            the start page is not a web page (a PDF, an image...)
└── RuleError             rule_error          a rule pack is broken (file, line and reason in the message)
"""


class RxcheckError(Exception):
    """Base class: `type` names the error in results, `str(exc)` is its one-line message."""

    type = "error"
    status: int | None = None  # the HTTP status, for `http_error`


class InvalidURL(RxcheckError):
    type = "invalid_url"


class FetchError(RxcheckError):
    type = "fetch_error"


class BlockedAddress(FetchError):
    type = "blocked_address"


class FetchTimeout(FetchError):
    type = "timeout"


class DNSError(FetchError):
    type = "dns_error"


class ConnectFailed(FetchError):
    type = "connect_error"


class TLSFailed(FetchError):
    type = "tls_error"


class ProtocolFailed(FetchError):
    type = "protocol_error"


class TooLarge(FetchError):
    type = "too_large"


class RedirectLoop(FetchError):
    type = "redirect_loop"


class TooManyRedirects(FetchError):
    type = "too_many_redirects"


class RobotsDisallowed(FetchError):
    type = "robots_disallowed"


class NotInArchive(FetchError):
    type = "not_in_archive"


class NoContent(FetchError):
    type = "no_content"


class HTTPStatusError(NoContent):
    type = "http_error"

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotHTML(NoContent):
    type = "not_html"


class RuleError(RxcheckError):
    type = "rule_error"
