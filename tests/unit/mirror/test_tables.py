"""Tables are byte-compatible with AlmaLinux's published CSV and Markdown."""

from __future__ import annotations

from imgpub.mirror.tables import (
    PublishedImage,
    ami_map,
    render_ami_map,
    render_csv,
    render_markdown,
    table_rows,
)


def image(
    region: str, arch: str, ami: str, name: str = "AlmaLinux OS 9.7.20260518"
) -> PublishedImage:
    return PublishedImage(
        source_ami=f"ami-src{arch[:2]}",
        region=region,
        ami_id=ami,
        name=f"{name} {arch}",
        tags={"Name": f"{name} {arch}", "Version": "9.7.20260518", "Architecture": arch},
        ec2_architecture="arm64" if arch == "aarch64" else "x86_64",
    )


IMAGES = [
    image("us-east-1", "aarch64", "ami-0000000000000000b"),
    image("af-south-1", "x86_64", "ami-0000000000000000c"),
    image("us-east-1", "x86_64", "ami-0000000000000000a"),
    image("af-south-1", "aarch64", "ami-0000000000000000d"),
]


def test_csv_is_headerless_fully_quoted_lf_sorted_region_then_x86_first() -> None:
    assert render_csv(table_rows(IMAGES)).encode() == (
        b'"AlmaLinux OS","9.7.20260518","af-south-1","ami-0000000000000000c","x86_64"\n'
        b'"AlmaLinux OS","9.7.20260518","af-south-1","ami-0000000000000000d","aarch64"\n'
        b'"AlmaLinux OS","9.7.20260518","us-east-1","ami-0000000000000000a","x86_64"\n'
        b'"AlmaLinux OS","9.7.20260518","us-east-1","ami-0000000000000000b","aarch64"\n'
    )


def test_markdown_layout() -> None:
    assert render_markdown(table_rows(IMAGES)).encode() == (
        b"Distribution|Version|Region|AMI ID|Arch\n"
        b"-|-|-|-|-\n"
        b"AlmaLinux OS |9.7.20260518 |af-south-1 |ami-0000000000000000c |x86_64 \n"
        b"AlmaLinux OS |9.7.20260518 |af-south-1 |ami-0000000000000000d |aarch64 \n"
        b"AlmaLinux OS |9.7.20260518 |us-east-1 |ami-0000000000000000a |x86_64 \n"
        b"AlmaLinux OS |9.7.20260518 |us-east-1 |ami-0000000000000000b |aarch64 \n"
    )


def test_kitten_and_arch_from_tag_not_attribute() -> None:
    kitten = image(
        "eu-west-1", "aarch64", "ami-0000000000000000e", name="AlmaLinux OS Kitten 10.20250904.0"
    )
    rows = table_rows([kitten])
    assert rows[0].distribution == "AlmaLinux OS Kitten"
    assert rows[0].arch == "aarch64"


def test_arch_falls_back_to_ec2_attribute_and_distribution_is_configurable() -> None:
    untagged = PublishedImage("ami-1", "eu-west-1", "ami-2", "Foo", {}, "arm64")
    rows = table_rows([untagged], distribution=lambda img: "Foo Linux")
    assert render_csv(rows) == '"Foo Linux","","eu-west-1","ami-2","arm64"\n'


def test_empty_markdown_still_has_header() -> None:
    assert render_markdown([]) == "Distribution|Version|Region|AMI ID|Arch\n-|-|-|-|-\n"


def test_ami_map_sorted_json() -> None:
    assert ami_map(IMAGES[:2]) == {
        "ami-srcaa": {"us-east-1": "ami-0000000000000000b"},
        "ami-srcx8": {"af-south-1": "ami-0000000000000000c"},
    }
    assert render_ami_map(IMAGES[:1]) == '{"ami-srcaa":{"us-east-1":"ami-0000000000000000b"}}'
