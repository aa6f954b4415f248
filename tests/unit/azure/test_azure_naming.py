"""Filename parsing and the AlmaLinux naming table (issue 4), from the packaged naming file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from imgpub.azure.image_names import (
    azure_names,
    check_gallery_version,
    image_basename,
    parse_image_name,
)
from imgpub.azure.naming import INT32_MAX, ImageName, load_naming_rules
from imgpub.errors import EXIT_BAD_INPUT, ConfigError, InputError


@pytest.fixture(scope="module")
def rules():
    return load_naming_rules()


# filename → (pattern, version, major, minor, kitten, date, index, arch, image_type, format, comp)
PARSED = {
    "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw": (
        "raw", "9.6", 9, 6, False, "20250522", 0, "x86_64", "default", "raw", None),
    "AlmaLinux-8-Azure-8.10-20250905.1.aarch64.raw.xz": (
        "raw", "8.10", 8, 10, False, "20250905", 1, "aarch64", "arm64", "raw", "xz"),
    "AlmaLinux-9-Azure-9.6-20250522.0-64k.aarch64.raw.gz": (
        "raw", "9.6", 9, 6, False, "20250522", 0, "aarch64", "arm64-64k", "raw", "gz"),
    "AlmaLinux-10-Azure-10.1-20251215.0.x86_64.raw": (
        "raw", "10.1", 10, 1, False, "20251215", 0, "x86_64", "default", "raw", None),
    "AlmaLinux-Kitten-Azure-10-20250904.0.x86_64.raw.xz": (
        "kitten-raw", "10", 10, None, True, "20250904", 0, "x86_64", "default", "raw", "xz"),
    "AlmaLinux-Kitten-Azure-10-20250904.2-64k.aarch64.raw": (
        "kitten-raw", "10", 10, None, True, "20250904", 2, "aarch64", "arm64-64k", "raw", None),
    "AlmaLinux-10-Azure-10.1-20251215.0.aarch64.vhd": (
        "vhd", "10.1", 10, 1, False, "20251215", 0, "aarch64", "arm64", "vhd", None),
    "AlmaLinux-10-Azure-10.1-20251215.3-64k.aarch64.vhd": (
        "vhd", "10.1", 10, 1, False, "20251215", 3, "aarch64", "arm64-64k", "vhd", None),
    "AlmaLinux-Kitten-Azure-10-20250904.0.aarch64.vhd": (
        "kitten-vhd", "10", 10, None, True, "20250904", 0, "aarch64", "arm64", "vhd", None),
    "AlmaLinux-Azure-9.6-2025052201-64k.aarch64.vhd": (
        "vhd-64k", "9.6", 9, 6, False, "20250522", 1, "aarch64", "arm64-64k", "vhd", None),
    "almalinux-9.6-x86_64.20250522-01.vhd": (
        "legacy-vhd", "9.6", 9, 6, False, "20250522", 1, "x86_64", "default", "vhd", None),
    "almalinux-8.10-arm64.20250905-02.vhd": (
        "legacy-vhd", "8.10", 8, 10, False, "20250905", 2, "aarch64", "arm64", "vhd", None),
}  # fmt: skip


@pytest.mark.parametrize("filename", sorted(PARSED))
def test_every_pattern_parses(rules, filename):
    pattern, version, major, minor, kitten, date, index, arch, itype, fmt, comp = PARSED[filename]
    got = parse_image_name(filename, rules)
    assert got == ImageName(
        filename=filename,
        pattern=pattern,
        version=version,
        major=major,
        minor=minor,
        kitten=kitten,
        date=dt.datetime.strptime(date, "%Y%m%d").date(),
        index=index,
        arch=arch,
        image_type=itype,
        disk_format=fmt,
        compression=comp,
    )
    assert got.datestamp == date


@pytest.mark.parametrize(
    "source",
    [
        "/mnt/images/AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw",
        "https://repo.almalinux.org/x/AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw?X-Sig=a%2Fb",
        "s3://bucket/images/AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw",
        "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw",
    ],
)
def test_paths_and_urls_give_the_file_name(rules, source):
    assert image_basename(source) == "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw"
    assert parse_image_name(source, rules).version == "9.6"


def test_release_strings(rules):
    assert (
        parse_image_name("AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw", rules).release
        == "AlmaLinux OS 9.6"
    )
    assert (
        parse_image_name("AlmaLinux-Kitten-Azure-10-20250904.0.x86_64.raw", rules).release
        == "AlmaLinux OS Kitten 10"
    )


# The whole table of issue 4: image file → container, gallery version, definitions
# (name, generation, architecture), public gallery allowed.
TABLE = [
    ("AlmaLinux-8-Azure-8.10-20250905.1.x86_64.raw", "8-default", "8.10.2025090501",
     [("almalinux-8-gen1", "V1", "x64"), ("almalinux-8-gen2", "V2", "x64")], True),
    ("AlmaLinux-8-Azure-8.10-20250905.1.aarch64.raw", "8-arm64", "8.10.2025090501",
     [("almalinux-8-arm64", "V2", "Arm64")], True),
    ("AlmaLinux-9-Azure-9.6-20250522.1.x86_64.raw", "9-default", "9.6.2025052201",
     [("almalinux-9-gen1", "V1", "x64"), ("almalinux-9-gen2", "V2", "x64")], True),
    ("AlmaLinux-9-Azure-9.6-20250522.1.aarch64.raw", "9-arm64", "9.6.2025052201",
     [("almalinux-9-arm64", "V2", "Arm64")], True),
    ("AlmaLinux-9-Azure-9.6-20250522.1-64k.aarch64.raw", "9-arm64-64k", "9.6.2025052201",
     [("almalinux-9-arm64-64k", "V2", "Arm64")], False),
    ("AlmaLinux-10-Azure-10.1-20251215.0.x86_64.raw", "almalinux-10", "10.1.202512150",
     [("almalinux-10-gen1", "V1", "x64"), ("almalinux-10-gen2", "V2", "x64")], False),
    ("AlmaLinux-10-Azure-10.1-20251215.0.aarch64.raw", "almalinux-10", "10.1.202512150",
     [("almalinux-ci-10-arm64-gen2", "V2", "Arm64")], False),
    ("AlmaLinux-10-Azure-10.1-20251215.0-64k.aarch64.raw", "almalinux-10", "10.1.202512150",
     [("almalinux-ci-10-arm64-64k-gen2", "V2", "Arm64")], False),
    ("AlmaLinux-Kitten-Azure-10-20250904.0.x86_64.raw", "kitten-10", "10.20250904.0",
     [("almalinux-ci-kitten-10-x64-gen1", "V1", "x64"),
      ("almalinux-ci-kitten-10-x64-gen2", "V2", "x64")], False),
    ("AlmaLinux-Kitten-Azure-10-20250904.0.aarch64.raw", "kitten-10", "10.20250904.0",
     [("almalinux-ci-kitten-10-arm64-gen2", "V2", "Arm64")], False),
    ("AlmaLinux-Kitten-Azure-10-20250904.0-64k.aarch64.raw", "kitten-10", "10.20250904.0",
     [("almalinux-ci-kitten-10-arm64-64k-gen2", "V2", "Arm64")], False),
]  # fmt: skip


@pytest.mark.parametrize(("filename", "container", "version", "defs", "public"), TABLE)
def test_definition_table(rules, filename, container, version, defs, public):
    names = azure_names(parse_image_name(filename, rules), rules)
    assert names.container == container
    assert names.gallery_version == version
    assert [(d.name, d.generation, d.architecture) for d in names.definitions] == defs
    assert names.public_allowed is public
    for d in names.definitions:
        # create-definitions needs a unique identifier per definition and TL only on Gen2
        assert (d.publisher, d.offer, d.sku) == ("AlmaLinux", "AlmaLinux", d.name)
        assert d.security_type is None or d.generation == "V2"


def test_defaults_come_from_the_yaml(rules):
    assert (rules.resource_group, rules.storage_account) == ("rg-alma-images", "almalinux")
    assert (rules.ci_gallery, rules.public_gallery) == ("almalinux_ci", "almalinux")


@pytest.mark.parametrize(
    "vhd",
    [
        "almalinux-9.6-x86_64.20250522-01.vhd",
        "almalinux-8.10-arm64.20250905-02.vhd",
        "AlmaLinux-Azure-9.6-2025052201-64k.aarch64.vhd",
        "AlmaLinux-10-Azure-10.1-20251215.0.x86_64.vhd",
        "AlmaLinux-10-Azure-10.1-20251215.3-64k.aarch64.vhd",
        "AlmaLinux-Kitten-Azure-10-20250904.0.aarch64.vhd",
    ],
)
def test_blob_name_of_a_blob_name_is_itself(rules, vhd):
    """Deterministic blob names: re-deriving from an uploaded VHD's name gives that name."""
    assert azure_names(parse_image_name(vhd, rules), rules).blob_name == vhd


def test_blob_name_from_raw_and_index_override(rules):
    image = parse_image_name("AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw.xz", rules)
    assert azure_names(image, rules).blob_name == "almalinux-9.6-x86_64.20250522-00.vhd"
    bumped = azure_names(image, rules, index=3)
    assert bumped.blob_name == "almalinux-9.6-x86_64.20250522-03.vhd"
    assert bumped.gallery_version == "9.6.2025052203"
    assert azure_names(image, rules, index=3) == bumped  # pure and repeatable


def test_gallery_version_int32_overflow(rules):
    image = parse_image_name("AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw", rules)
    assert azure_names(image, rules, index=99).gallery_version == "9.6.2025052299"
    with pytest.raises(InputError) as err:
        azure_names(image, rules, index=100)  # 20250522100 > 2147483647
    assert "20250522100" in str(err.value) and str(INT32_MAX) in str(err.value)
    ten = parse_image_name("AlmaLinux-10-Azure-10.1-20251215.0.x86_64.raw", rules)
    assert azure_names(ten, rules, index=9).gallery_version == "10.1.202512159"
    assert azure_names(ten, rules, index=10).gallery_version == "10.1.2025121510"
    with pytest.raises(InputError):
        azure_names(ten, rules, index=100)


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("1.2.3", True),
        ("9.6.2147483647", True),
        ("9.6.2147483648", False),
        ("2147483648.0.0", False),
        ("1.2", False),
        ("1.2.3.4", False),
        ("1.a.3", False),
        ("1.-2.3", False),
    ],
)
def test_check_gallery_version(version, ok):
    if ok:
        check_gallery_version(version)
    else:
        with pytest.raises(InputError):
            check_gallery_version(version)


@pytest.mark.parametrize(
    "filename",
    [
        "ubuntu-22.04.vhd",
        "AlmaLinux-9-Azure-9.6-20250522.0.ppc64le.raw",
        "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.qcow2",
        "AlmaLinux-9-Azure-9.6-2025052.0.x86_64.raw",
        "AlmaLinux-9-Azure-9.6-20250522.0.x86_64.vhd.xz",
        "",
    ],
)
def test_unparseable_names_name_the_accepted_patterns(rules, filename):
    with pytest.raises(InputError) as err:
        parse_image_name(filename, rules)
    line = err.value.one_line()
    assert "\n" not in line
    assert line.startswith("input 'image':")
    assert "AlmaLinux-<major>-Azure-<X.Y>-<YYYYMMDD>.<index>[-64k].<arch>.raw" in line
    assert "almalinux-<X.Y>-<x86_64|arm64>.<YYYYMMDD>-<index>.vhd" in line
    assert err.value.exit_code == EXIT_BAD_INPUT


@pytest.mark.parametrize(
    ("filename", "problem"),
    [
        ("AlmaLinux-9-Azure-10.1-20250522.0.x86_64.raw", "disagrees"),
        ("AlmaLinux-9-Azure-9.6-20251340.0.x86_64.raw", "not a YYYYMMDD date"),
        ("AlmaLinux-9-Azure-9.6-20250522.0-64k.x86_64.raw", "64k"),
    ],
)
def test_inconsistent_names(rules, filename, problem):
    with pytest.raises(InputError, match=problem):
        parse_image_name(filename, rules)


def test_image_type_without_definitions_is_an_input_error(rules):
    image = parse_image_name("AlmaLinux-8-Azure-8.10-20250905.0-64k.aarch64.raw", rules)
    with pytest.raises(InputError, match="arm64-64k images have no image definition"):
        azure_names(image, rules)


def test_release_without_rule(rules):
    image = parse_image_name("AlmaLinux-11-Azure-11.0-20270101.0.x86_64.raw", rules)
    with pytest.raises(InputError, match="no release rule"):
        azure_names(image, rules)


# -- naming file override -----------------------------------------------------------------

CUSTOM = """
defaults:
  ci_gallery: my_ci
  public_gallery: my.public
patterns:
  - name: mine
    accepts: "MyOS-<X.Y>-<YYYYMMDD>-<index>.<arch>.raw"
    regex: '^MyOS-(?P<version>\\d+\\.\\d+)-(?P<date>\\d{8})-(?P<index>\\d+)\\.(?P<arch>x86_64|aarch64)\\.(?P<format>raw)$'
releases:
  - key: myos
    match: {}
    container: "myos-{major}"
    blob: "myos-{version}-{date}-{index}-{arch}.vhd"
    gallery_version: "{major}.{minor}.{date}{index}"
    public: true
    images:
      default:
        definitions:
          - {name: "myos-{major}", generation: V2}
          - {name: "myos-{major}", generation: V2}
"""


def test_naming_file_overrides_and_merges_defaults(tmp_path: Path):
    path = tmp_path / "naming.yml"
    path.write_text(CUSTOM)
    rules = load_naming_rules(path)
    assert rules.ci_gallery == "my_ci" and rules.public_gallery == "my.public"
    assert rules.resource_group == "rg-alma-images"  # merged from the built-in defaults
    assert [p.name for p in rules.patterns] == ["mine"]  # lists replace
    image = parse_image_name("MyOS-3.1-20260101-2.x86_64.raw", rules)
    names = azure_names(image, rules)
    assert names.container == "myos-3"
    assert names.blob_name == "myos-3.1-20260101-2-x86_64.vhd"
    assert names.gallery_version == "3.1.202601012"
    assert [d.name for d in names.definitions] == ["myos-3"]  # duplicates collapse
    with pytest.raises(InputError) as err:
        parse_image_name("AlmaLinux-9-Azure-9.6-20250522.0.x86_64.raw", rules)
    assert "MyOS-<X.Y>" in err.value.one_line()


def test_partial_naming_file_keeps_builtin_lists(tmp_path: Path):
    path = tmp_path / "naming.yml"
    path.write_text("defaults: {resource_group: rg-other}\n")
    rules = load_naming_rules(path)
    assert rules.resource_group == "rg-other"
    assert rules.patterns == load_naming_rules().patterns


BAD_FILES = {
    "not yaml": ("defaults: [\n", "not valid YAML"),
    "a list": ("- a\n- b\n", "must be a YAML mapping"),
    "unknown key": ("galleries: {}\n", "unknown key"),
    "bad regex": ("patterns: [{name: x, accepts: x, regex: '('}]\n", "does not compile"),
    "missing groups": (
        "patterns: [{name: x, accepts: x, regex: '^(?P<version>.*)$'}]\n",
        "lacks the named group",
    ),
    "dash in gallery": ("defaults: {ci_gallery: my-ci}\n", "letters, digits, dots"),
    "bad field": ("defaults: {sku: '{secret}'}\n", "unknown field"),
    "attribute access": ("defaults: {sku: '{major.__class__}'}\n", "unknown field"),
    "bad generation": (
        "releases: [{key: a, gallery_version: '{major}.0.0', container: c, blob: b,"
        " images: {default: {definitions: [{name: d, generation: V3}]}}}]\n",
        "generation must be V1 or V2",
    ),
    "TL on gen1": (
        "releases: [{key: a, gallery_version: '{major}.0.0', container: c, blob: b,"
        " images: {default: {definitions: [{name: d, generation: V1,"
        " security_type: TrustedLaunch}]}}}]\n",
        "needs generation V2",
    ),
    "bad image type": (
        "releases: [{key: a, gallery_version: '{major}.0.0', container: c, blob: b,"
        " images: {riscv: {definitions: [{name: d, generation: V2}]}}}]\n",
        "image type must be one of",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_naming_file_is_one_line_input_error(tmp_path: Path, case):
    text, problem = BAD_FILES[case]
    path = tmp_path / "naming.yml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_naming_rules(path)
    assert err.value.name == "naming"
    assert problem in err.value.one_line()
    assert "\n" not in err.value.one_line()


def test_missing_naming_file(tmp_path: Path):
    with pytest.raises(InputError, match="cannot read naming file"):
        load_naming_rules(tmp_path / "nope.yml")


def test_builtin_rules_are_valid_config():
    # A ConfigError here would mean the packaged example is broken.
    try:
        load_naming_rules()
    except ConfigError as exc:  # pragma: no cover
        pytest.fail(exc.one_line())
