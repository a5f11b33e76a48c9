"""The exceptions rxcheck raises. Each carries a one-line message meant for the user.

RxcheckError
├── InvalidURL         the URL given cannot be checked (scheme, host, length)
├── FetchError         a page could not be fetched
│   ├── BlockedAddress    the host resolves to an address rxcheck refuses to contact
│   ├── FetchTimeout      a timeout or the site's deadline ran out
│   ├── NotInArchive      a replayed run asked for a URL the WARC does not hold
│   └── NoContent         the start page is an error, not HTML, or shows no readable text
└── RuleError          a rule pack is broken (file, line and reason in the message)
"""


class RxcheckError(Exception):
    """Base class: `type` names the error in results, `str(exc)` is its one-line message."""

    type = "error"


class InvalidURL(RxcheckError):
    type = "invalid_url"


class FetchError(RxcheckError):
    type = "fetch_error"


class BlockedAddress(FetchError):
    type = "blocked_address"


class FetchTimeout(FetchError):
    type = "timeout"


class NotInArchive(FetchError):
    type = "not_in_archive"


class NoContent(FetchError):
    type = "no_content"


class RuleError(RxcheckError):
    type = "rule_error"
