"""rxcheck: online pharmacy legitimacy checker.

from rxcheck import Checker, check_sync, open_fetcher, to_text

result = check_sync("https://www.hartwellpharmacy.co.uk/", replay="fixtures/sites.warc.gz")
print(to_text(result))

async with open_fetcher(replay=Path("fixtures/sites.warc.gz")) as fetcher:  # many sites, one event loop
    result = await Checker().check("https://www.hartwellpharmacy.co.uk/", fetcher)
print(result.verdict, result.risk_score)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rxcheck.errors import (
        BlockedAddress,
        FetchError,
        FetchTimeout,
        InvalidURL,
        NotInArchive,
        RuleError,
        RxcheckError,
    )  # fmt: skip
    from rxcheck.fetch.factory import open_fetcher
    from rxcheck.pipeline import Checker
    from rxcheck.report import to_text
    from rxcheck.result import Evidence, Finding, Result
    from rxcheck.sync import check_sync

__version__ = "0.1.0"

# The public names, imported when first used, so `import rxcheck.<stage>` (and the command line) loads only what it
# needs.
_HOMES = {
    "BlockedAddress": "rxcheck.errors", "FetchError": "rxcheck.errors", "FetchTimeout": "rxcheck.errors",
    "InvalidURL": "rxcheck.errors", "NotInArchive": "rxcheck.errors", "RuleError": "rxcheck.errors",
    "RxcheckError": "rxcheck.errors", "open_fetcher": "rxcheck.fetch.factory", "Checker": "rxcheck.pipeline",
    "Evidence": "rxcheck.result", "Finding": "rxcheck.result", "Result": "rxcheck.result",
    "check_sync": "rxcheck.sync", "to_text": "rxcheck.report",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rxcheck' has no attribute {name!r}")


__all__ = [
    "BlockedAddress",
    "Checker",
    "Evidence",
    "FetchError",
    "FetchTimeout",
    "Finding",
    "InvalidURL",
    "NotInArchive",
    "Result",
    "RuleError",
    "RxcheckError",
    "__version__",
    "check_sync",
    "open_fetcher",
    "to_text",
]
