"""rxcheck: online pharmacy legitimacy checker.

from checker import Checker, check_sync, open_fetcher, to_text

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
    from checker.errors import (
        BlockedAddress,
        FetchError,
        FetchTimeout,
        InvalidURL,
        NotInArchive,
        RuleError,
        RxcheckError,
    )  # fmt: skip
    from checker.fetch.factory import open_fetcher
    from checker.pipeline import Checker
    from checker.report import to_text
    from checker.result import Evidence, Finding, Result
    from checker.sync import check_sync

__version__ = "0.1.0"

# The public names, imported when first used, so `import checker.<stage>` (and the command line) loads only what it
# needs.
_HOMES = {
    "BlockedAddress": "checker.errors", "FetchError": "checker.errors", "FetchTimeout": "checker.errors",
    "InvalidURL": "checker.errors", "NotInArchive": "checker.errors", "RuleError": "checker.errors",
    "RxcheckError": "checker.errors", "open_fetcher": "checker.fetch.factory", "Checker": "checker.pipeline",
    "Evidence": "checker.result", "Finding": "checker.result", "Result": "checker.result",
    "check_sync": "checker.sync", "to_text": "checker.report",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'checker' has no attribute {name!r}")


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
