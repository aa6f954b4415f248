"""What is written down keeps no credential; sizes and errors read the same everywhere."""

from __future__ import annotations

from imgpub.redact import redact_urls, scrub, without_query
from imgpub.text import first_line, human_bytes


def test_without_query_drops_query_fragment_and_user_info():
    assert (
        without_query("https://u:p@h.example:8443/a/b.vhd?sig=x#f")
        == "https://h.example:8443/a/b.vhd"
    )


def test_recorded_values_lose_whole_queries_and_secret_pairs():
    text = "https://a.blob.core.windows.net/c/x.vhd?sv=1&sig=S and s3://b/k?X-Amz-Signature=T"
    out = redact_urls(text)
    assert "S" not in out.replace("s3", "").split("sig")[0][-2:] and "sig=S" not in out
    assert "X-Amz-Signature" not in out and "https://a.blob.core.windows.net/c/x.vhd?***" in out
    assert redact_urls("DefaultEndpointsProtocol=https;AccountKey=abc==;") == (
        "DefaultEndpointsProtocol=https;AccountKey=***;"
    )


def test_document_scrub_keeps_harmless_queries_and_blanks_credentials_and_masks():
    doc = {"a": ["https://h/p?page=2&sig=SECRET", "token MASKED here"], "n": 3}
    out = scrub(doc, ["MASKED"])
    assert out == {"a": ["https://h/p?page=2&sig=***", "token *** here"], "n": 3}


def test_human_bytes_and_first_line():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024**4 * 1024) == "5120.0 TiB"
    assert first_line(ValueError("  one\n two ")) == "one"
    assert first_line(KeyError()) == "KeyError"
