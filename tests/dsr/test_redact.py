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


def test_one_list_of_secret_patterns_for_the_client_and_the_app() -> None:
    """A leak fixed once is fixed everywhere: the client's logs and errors and the app's stored text share it."""
    import customvision

    assert redact is customvision.redact
    text = ("Endpoint=sb://ns/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0= {'Authorization': 'k-0', "
            "\"training-key\": \"k-1\"} Ocp-Apim-Subscription-Key=k-2 prediction-key: k-3 "
            "https://a/b?sv=1&sig=s%2B1 DefaultEndpointsProtocol=https;AccountKey=a2V5==;")
    out = redact(text)
    for secret in ["c2VjcmV0=", "k-0", "k-1", "k-2", "k-3", "s%2B1", "a2V5=="]:
        assert secret not in out
    assert "SharedAccessKeyName=send" in out and "Endpoint=sb://ns/" in out
