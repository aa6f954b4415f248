"""imgpub's example destination mappings (package data), written from StArMap's model.

Three entities in StArMap's QueryResponseContainer format: ``rhel-azure`` (Azure,
stratosphere), and ``rhel-ec2`` twice (AWS stratosphere, to two Marketplace products; AWS
community, with billing-code-config and five destinations in four regions). The sandbox's
StArMap serves them; the README's worked example and the tests push through them.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, cast

EXAMPLES = "data/starmap-examples.json"


def example_mappings() -> list[dict[str, Any]]:
    text = resources.files("imgpub").joinpath(EXAMPLES).read_text("utf-8")
    return cast(list[dict[str, Any]], json.loads(text))
