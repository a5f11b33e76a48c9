import rxcheck


def test_public_names_are_pinned():
    assert rxcheck.__all__ == [
        "BlockedAddress", "Checker", "Evidence", "FetchError", "FetchTimeout", "Finding", "InvalidURL",
        "NotInArchive", "Result", "RuleError", "RxcheckError", "__version__", "check_sync", "open_fetcher", "to_text",
    ]  # fmt: skip
    for name in rxcheck.__all__:
        assert hasattr(rxcheck, name)


def test_every_user_facing_error_is_an_rxcheck_error():
    for name in ("BlockedAddress", "FetchError", "FetchTimeout", "InvalidURL", "NotInArchive", "RuleError"):
        assert issubclass(getattr(rxcheck, name), rxcheck.RxcheckError)
