"""rxcheck: online pharmacy legitimacy checker.

from checker import Checker, open_fetcher

async with open_fetcher(replay="fixtures/sites.warc.gz") as fetcher:
    result = await Checker().check("https://www.hartwellpharmacy.co.uk/", fetcher)
print(result.verdict, result.risk_score)
"""

from checker.errors import BlockedAddress, FetchError, FetchTimeout, InvalidURL, NotInArchive, RuleError, RxcheckError
from checker.fetch.factory import open_fetcher
from checker.pipeline import Checker
from checker.result import Evidence, Finding, Result

__version__ = "0.1.0"

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
    "open_fetcher",
]
