"""Release data from mirror-ami sections: merged across documents, sorted like AlmaLinux's."""

from __future__ import annotations

import pytest

from imgpub.errors import InputError
from imgpub.mirror.tables import render_csv, render_markdown
from imgpub.results import ResultsDocument
from imgpub.wiki.release import release_from_documents, release_key, split_version
from tests.unit.wiki.release_docs import mirror_doc

X86 = [("ami-x", "us-east-1", "ami-x", "x86_64"), ("ami-x", "eu-west-1", "ami-x2", "x86_64")]
ARM = [("ami-a", "us-east-1", "ami-a", "aarch64"), ("ami-a", "eu-west-1", "ami-a2", "aarch64")]


def merge(*docs, key=""):
    return release_from_documents(
        [(f"doc{i}", d) for i, d in enumerate(docs)], source_input="mirror-results", key=key
    )


def test_two_jobs_merge_region_ascending_x86_before_aarch64():
    release = merge(mirror_doc(ARM), mirror_doc(X86))
    assert [(r.region, r.arch) for r in release.rows] == [
        ("eu-west-1", "x86_64"),
        ("eu-west-1", "aarch64"),
        ("us-east-1", "x86_64"),
        ("us-east-1", "aarch64"),
    ]
    assert merge(mirror_doc(X86 + ARM)).rows == release.rows
    assert [s.arch for s in release.sources] == ["x86_64", "aarch64"]
    assert release.sources[0].regions == ("eu-west-1", "us-east-1")


def test_rendered_tables_are_mirror_amis_formats():
    release = merge(mirror_doc(X86 + ARM))
    csv = render_csv(release.rows)
    assert csv.splitlines()[0] == '"AlmaLinux OS","9.6.20250522","eu-west-1","ami-x2","x86_64"'
    md = render_markdown(release.rows)
    assert md.splitlines()[:3] == [
        "Distribution|Version|Region|AMI ID|Arch",
        "-|-|-|-|-",
        "AlmaLinux OS |9.6.20250522 |eu-west-1 |ami-x2 |x86_64 ",
    ]


@pytest.mark.parametrize(
    ("version", "os_version", "datestamp"),
    [
        ("9.6.20250522", "9.6", "20250522"),
        ("10.1.20251124.0", "10.1", "20251124.0"),
        ("10.20250904.0", "10", "20250904.0"),
        ("1.2.3", "1.2.3", ""),
    ],
)
def test_version_parts(version, os_version, datestamp):
    assert split_version(version) == (os_version, datestamp)


def test_names_of_almalinux_releases():
    nine = merge(mirror_doc(X86))
    assert (nine.key, nine.major, nine.section) == ("almalinux_os_9_6_20250522", "9", "cloud")
    kitten = merge(mirror_doc(X86, version="10.20250904.0", distribution="AlmaLinux OS Kitten"))
    assert kitten.key == "almalinux_os_kitten_10_20250904_0"
    assert (kitten.major, kitten.section) == ("kitten_10", "development")
    ten = merge(mirror_doc(X86, version="10.1.20251124.0"))
    assert (ten.major, ten.os_version, ten.datestamp) == ("10", "10.1", "20251124.0")
    assert merge(mirror_doc(X86), key="custom-key").key == "custom-key"
    assert release_key("AlmaLinux OS", "9.6.20250522") == "almalinux_os_9_6_20250522"


def test_images_not_in_place_are_left_out_and_named():
    release = merge(mirror_doc(X86, failed=[("ami-x", "ap-south-1")]))
    assert [r.region for r in release.rows] == ["eu-west-1", "us-east-1"]
    assert release.not_in_place == ("ami-x@ap-south-1",)


@pytest.mark.parametrize(
    ("docs", "fragment"),
    [
        ([ResultsDocument()], "no mirror-ami section"),
        ([mirror_doc(X86, dry_run=True)], "was a dry run"),
        ([mirror_doc([], failed=[("ami-x", "us-east-1")])], "no image in place"),
        ([mirror_doc(X86), mirror_doc(ARM, version="9.6.20250601")], "more than one release"),
        (
            [mirror_doc(X86), mirror_doc([("ami-x", "eu-west-1", "ami-other", "x86_64")])],
            "is ami-x2 in one document and ami-other",
        ),
        ([mirror_doc(X86, version="")], "no Version tag"),
    ],
)
def test_unusable_documents(docs, fragment):
    with pytest.raises(InputError) as err:
        merge(*docs)
    assert err.value.name == "mirror-results" and fragment in err.value.message


def test_a_document_without_the_table_rows_is_refused():
    doc = mirror_doc(X86)
    doc.stages["mirror-ami"].data["table"] = []
    with pytest.raises(InputError, match="no table row for ami-x"):
        merge(doc)
