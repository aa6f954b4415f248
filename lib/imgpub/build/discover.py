"""Discovery for build-ami: read-only calls and local checks, then the plan.

Everything that can be wrong with the inputs is found here, before any change: the image
(its stream, its size against ``volume-size``), names, an AMI of the same name made from
another image, a base AMI that does not exist, a Packer template that does not validate.
"""

from __future__ import annotations

import re
from pathlib import Path

from imgpub.aws import ec2_builds, ec2_images
from imgpub.aws.session import ClientFactory
from imgpub.build import packer
from imgpub.build.model import BuildInputs, instance_type_for
from imgpub.build.naming import (
    TAG_IDENTITY,
    TAG_SOURCE,
    TAG_TEST,
    ImageFacts,
    ami_tags,
    image_facts,
    render,
)
from imgpub.build.packer_output import declared_variables
from imgpub.build.plan import BuildPlan, ImageSource, TestPlan, UploadDecision, decide_upload
from imgpub.build.registration import register_request
from imgpub.diskimage.blocks import disk_layout, volume_gib
from imgpub.diskimage.source import LocalSource, open_source
from imgpub.errors import InputError
from imgpub.redact import redact_urls

_AMI_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")


def check_ami_name(name: str) -> str:
    if not _AMI_NAME.match(name):
        raise InputError(
            "ami-name",
            f"{name!r} is not a valid AMI name",
            "use 3-128 letters, digits, spaces and ( ) [ ] . / - ' @ _",
        )
    return name


def _image_source(inputs: BuildInputs, factory: ClientFactory) -> ImageSource:
    image = inputs.image
    s3 = factory.s3(inputs.region) if image.startswith("s3://") else None
    source = open_source(image, s3_client=s3)
    source.check()
    path = source.path if isinstance(source, LocalSource) else None
    layout = disk_layout(source, path)
    wanted = inputs.registration.volume_size
    if layout.size is None and wanted is None:
        raise InputError(
            "volume-size",
            f"the disk size of {source.name} is unknown until the whole stream is read",
            "set volume-size (GiB), or give an uncompressed or .xz image",
        )
    needed = volume_gib(layout.size) if layout.size is not None else 0
    if wanted is not None and wanted < needed:
        raise InputError(
            "volume-size", f"{wanted} GiB is smaller than the {needed} GiB image", f"give at least {needed}"
        )
    gib = wanted or needed
    return ImageSource(
        source=source,
        display=redact_urls(image),
        identity=source.identity().digest,
        disk_bytes=layout.size if layout.size is not None else gib * 1024**3,
        volume_gib=gib,
        max_data_blocks=layout.max_data_blocks,
    )


def _names(inputs: BuildInputs, facts: ImageFacts, source: str) -> tuple[str, str]:
    reg = inputs.registration
    name = check_ami_name(render(reg.ami_name_template, facts, input_name="ami-name", source=source))
    description = render(reg.description_template, facts, input_name="description", source=source)
    return name, description


def discover_raw(inputs: BuildInputs, factory: ClientFactory) -> BuildPlan:
    image = _image_source(inputs, factory)
    reg = inputs.registration
    facts = image_facts(image.source.name, version=reg.version, architecture=reg.architecture)
    name, description = _names(inputs, facts, image.source.name)
    tags = ami_tags(facts, name, image.source.name, image.identity, dict(reg.tags))
    ec2 = factory.ec2(inputs.region)
    existing = ec2_images.images_by_name(ec2, inputs.region, [name])
    existing_ami: str | None = None
    snapshot = ""
    passed = False
    if existing:
        found = existing[0]
        if found.tags.get(TAG_IDENTITY) != image.identity:
            raise InputError(
                "ami-name",
                f"AMI {found.image_id} named {name!r} exists in {inputs.region} but was made "
                f"from another image ({found.tags.get(TAG_SOURCE, 'not by imgpub')})",
                "choose another ami-name (or version), or deregister that AMI",
            )
        existing_ami = found.image_id
        snapshot = found.snapshot_ids[0] if found.snapshot_ids else ""
        passed = found.tags.get(TAG_TEST) == "passed"
    snapshots = ec2_builds.snapshots_tagged(ec2, TAG_IDENTITY, image.identity)
    decision = decide_upload(existing_ami, snapshots, image.volume_gib)
    request = register_request(
        name=name,
        description=description,
        architecture=facts.architecture,
        snapshot_id=decision.snapshot_id or "(new snapshot)",
        volume_gib=image.volume_gib,
        registration=reg,
        tags=tags,
    )
    return BuildPlan(
        inputs=inputs,
        region=inputs.region,
        ami_name=name,
        description=description,
        facts=facts,
        tags=tags,
        decision=decision,
        existing_ami=existing_ami,
        existing_snapshot=snapshot,
        image=image,
        register=request,
        test=_test_plan(inputs, facts, passed),
    )


def _test_plan(inputs: BuildInputs, facts: ImageFacts, passed: bool) -> TestPlan:
    spec = inputs.test
    expected = spec.expected_release.replace("{release}", facts.release or facts.version)
    return TestPlan(
        spec.enabled, instance_type_for(facts.architecture, spec.instance_type), expected, passed
    )


def discover_packer(inputs: BuildInputs, factory: ClientFactory, environ: dict[str, str]) -> BuildPlan:
    spec = inputs.packer
    assert spec is not None
    binary = packer.packer_binary()
    ec2 = factory.ec2(inputs.region)
    if spec.source_ami:
        found = ec2_images.images_by_id(ec2, inputs.region, [spec.source_ami], own=False)
        if not found:
            raise InputError("source-ami", f"{spec.source_ami} is not in {inputs.region}", "check the ID and region")
        base = ec2_builds.BaseImage(spec.source_ami, found[0].name, "", found[0].architecture, "")
    else:
        match = ec2_builds.newest_image(ec2, spec.source_owner, spec.source_name)
        if match is None:
            raise InputError(
                "source-ami-name",
                f"no available AMI of owner {spec.source_owner} matches {spec.source_name!r} "
                f"in {inputs.region}",
                "check the pattern (EC2 name filter, * and ?), the owner and the region",
            )
        base = match
    reg = inputs.registration
    arch = reg.architecture or base.architecture or "x86_64"
    facts = ImageFacts(Path(spec.template).name, "", "", arch, reg.version)
    if reg.version:
        facts = ImageFacts(facts.name, reg.version.rsplit(".", 1)[0], "", arch, reg.version)
    declared = declared_variables(spec.template)
    name = ""
    if "ami_name" in declared:
        try:
            name, _ = _names(inputs, facts, base.name)
        except InputError:
            name = ""  # the template names the AMI itself
    existing_ami: str | None = None
    snapshot = ""
    passed = False
    if name:
        found_images = ec2_images.images_by_name(ec2, inputs.region, [name])
        if found_images:
            existing_ami = found_images[0].image_id
            snapshot = found_images[0].snapshot_ids[0] if found_images[0].snapshot_ids else ""
            passed = found_images[0].tags.get(TAG_TEST) == "passed"
    env = packer.packer_env(environ, declared)
    ours = {"region": inputs.region, "source_ami": base.image_id, "ami_name": name}
    variables = packer.variable_args(spec, ours, declared)
    if existing_ami is None:
        packer.prepare_template(binary, spec, variables, env)
    decision = UploadDecision("existed" if existing_ami else "packer")
    return BuildPlan(
        inputs=inputs,
        region=inputs.region,
        ami_name=name,
        description="",
        facts=facts,
        tags={},
        decision=decision,
        existing_ami=existing_ami,
        existing_snapshot=snapshot,
        base_image=base,
        packer_command=(binary, "build", "-machine-readable", *variables, str(spec.template)),
        test=_test_plan(inputs, facts, passed),
    )
