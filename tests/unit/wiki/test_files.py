"""The files of the pull request: the default layout, templates, paths, the digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgpub.errors import InputError
from imgpub.mirror.tables import render_csv, render_markdown
from imgpub.wiki.files import DEFAULT_FILES, check_path, data_digest, parse_files, wanted_files
from imgpub.wiki.release import release_from_documents
from tests.unit.wiki.release_docs import mirror_doc

IMAGES = [("ami-x", "us-east-1", "ami-x", "x86_64"), ("ami-a", "us-east-1", "ami-a", "aarch64")]


def release(**kw):
    return release_from_documents([("d", mirror_doc(IMAGES, **kw))], source_input="results")


def no_file(path):
    raise FileNotFoundError(2, "No such file or directory")


def test_default_layout_is_almalinuxs_wiki():
    files = wanted_files(parse_files("", no_file), release())
    assert list(files) == [
        "docs/cloud/AWS_AMIS_9.md",
        "docs/.vuepress/public/ci-data/aws_amis_9.csv",
    ]
    assert files["docs/cloud/AWS_AMIS_9.md"] == render_markdown(release().rows)
    kitten = release(version="10.20250904.0", distribution="AlmaLinux OS Kitten")
    assert list(wanted_files(DEFAULT_FILES, kitten)) == [
        "docs/development/AWS_AMIS_kitten_10.md",
        "docs/.vuepress/public/ci-data/aws_amis_kitten_10.csv",
    ]


def test_templates_inline_and_from_a_file(tmp_path):
    template = tmp_path / "t.j2"
    template.write_text("{% for r in rows %}{{ r.region }} {{ r.ami_id }}\n{% endfor %}")
    text = (
        "amis/{{ major }}.csv: csv\n"
        f"amis/{{{{ major }}}}.txt: {{template-file: {template}}}\n"
        "'amis/{{ release }}.md': '# {{ distribution }} {{ version }}\n\n{{ markdown }}'\n"
    )
    files = wanted_files(parse_files(text, lambda p: Path(p).read_text()), release())
    assert files["amis/9.csv"] == render_csv(release().rows)
    assert files["amis/9.txt"] == "us-east-1 ami-x\nus-east-1 ami-a\n"
    assert files["amis/almalinux_os_9_6_20250522.md"].startswith("# AlmaLinux OS 9.6.20250522\n")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[a, b]", "must be a mapping"),
        ("a.md: yaml", "is not csv, markdown"),
        ("'{{ nope }}.md': csv", "'nope' is undefined"),
        ("a.md: '{% for %}'", "template syntax error"),
        ("a.md: {template-file: /nope.j2}", "cannot be read"),
        ("a.md: csv\n'{{ \"a.md\" }}': markdown", "two entries render to a.md"),
        ("key: [unclosed", "not valid YAML on line 1"),
    ],
)
def test_bad_files(text, fragment):
    with pytest.raises(InputError) as err:
        wanted_files(parse_files(text, no_file), release())
    assert err.value.name == "files" and fragment in err.value.message


@pytest.mark.parametrize("path", ["/etc/x", "../x", "a/../../x", ".git/config", "", " "])
def test_paths_outside_the_repository_are_refused(path):
    with pytest.raises(InputError):
        check_path(path)


def test_paths_are_normalised():
    assert check_path("docs/./cloud/x.md") == "docs/cloud/x.md"
    assert check_path("docs//x.md") == "docs/x.md"


def test_digest_depends_on_paths_and_texts_only():
    a = data_digest({"x": "1", "y": "2"})
    assert a == data_digest({"y": "2", "x": "1"})
    assert a != data_digest({"x": "1", "y": "3"}) and a != data_digest({"x": "12"})
    assert a.startswith("sha256:") and len(a) == 71
