"""Secrets never reach stored text: SAS signatures, account keys, training keys, bearer tokens."""

from dsr.redact import redact, scrub, strip_query


def test_redact_replaces_every_kind_of_secret() -> None:
    text = ("GET https://a.blob.core.windows.net/c/b?sv=1&sig=abc%2Bdef&se=2 AccountKey=xyz== "
            "Training-Key: 0123abcd Authorization: Bearer eyJ.abc.def")
    out = redact(text)
    for secret in ["abc%2Bdef", "xyz==", "0123abcd", "eyJ.abc.def"]:
        assert secret not in out
    assert out.count("REDACTED") == 4


def test_scrub_strips_sas_queries_from_nested_urls() -> None:
    record = {"thumbnailUri": "http://h/c/t.jpg?st=1&sig=SECRET", "nested": [{"u": "https://h/x?sig=S2"}],
              "name": "keep me", "n": 3}
    clean = scrub(record)
    assert clean == {"thumbnailUri": "http://h/c/t.jpg", "nested": [{"u": "https://h/x"}], "name": "keep me", "n": 3}
    assert "SECRET" not in str(clean)


def test_strip_query() -> None:
    assert strip_query("https://h/p/a.png?sv=1&sig=2") == "https://h/p/a.png"
