"""The fake StArMap answers /api/v2/query as StArMap does: the entities of that name whose
version pattern matches, 404 with a message otherwise; every query is in its log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from imgpub.sandbox.fake_starmap import FakeStarmap


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_query_by_name_and_version_pattern():
    with FakeStarmap() as fake:
        fake.add_entry({"name": "rhel", "cloud": "aws", "workflow": "community",
                        "mappings": {}}, version_fnmatch="9.*")  # fmt: skip
        fake.add_entry({"name": "rhel", "cloud": "azure", "workflow": "stratosphere",
                        "mappings": {}})  # fmt: skip
        status, body = get(f"{fake.url}/api/v2/query?name=rhel&version=9.6")
        assert status == 200 and [e["cloud"] for e in body] == ["aws", "azure"]
        _, body = get(f"{fake.url}/api/v2/query?name=rhel&version=10.0")
        assert [e["cloud"] for e in body] == ["azure"]
        with pytest.raises(urllib.error.HTTPError) as err:
            get(f"{fake.url}/api/v2/query?name=fedora&version=40")
        assert err.value.code == 404
        assert "No mappings found for name=fedora" in json.loads(err.value.read())["message"]
        with pytest.raises(urllib.error.HTTPError) as err:
            get(f"{fake.url}/api/v2/query")
        assert err.value.code == 400
        queries = [(r.query.get("name"), r.status) for r in fake.log.matching("Query")]
        assert queries == [("rhel", 200), ("rhel", 200), ("fedora", 404), (None, 400)]


def test_the_sandbox_service_serves_the_example_mappings(starmap):
    _, body = get(f"{starmap.url}/api/v2/query?name=rhel-ec2&version=9.6.20250522")
    assert sorted(e["workflow"] for e in body) == ["community", "stratosphere"]
