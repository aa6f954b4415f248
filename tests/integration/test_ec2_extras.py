"""The local EC2 (moto server + imgpub's EC2 extensions), driven with real boto3 clients.

The server runs as ``python -m imgpub.sandbox.moto_main`` in a subprocess, exactly as the
sandbox starts it, and every test starts from a reset server.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from imgpub.sandbox.control import Ec2Control, Ec2ControlError
from imgpub.sandbox.ec2_regions import DEFAULT_ENABLED_REGIONS
from imgpub.sandbox.serving import PortInfo

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
STARTUP_DEADLINE = 60.0  # seconds; generous for a loaded 2-core machine


class MotoProcess:
    """A ``moto_main`` subprocess and its URL."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        port_file = tmp / f"moto-{time.monotonic_ns()}.port"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imgpub.sandbox.moto_main",
                "--port-file",
                str(port_file),
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not port_file.exists():
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                raise RuntimeError(f"moto_main exited early: {err.decode()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("moto_main did not write its port file")
            time.sleep(0.05)
        info = PortInfo.read(port_file)
        assert info is not None and info.pid == self.process.pid
        self.address = f"{info.host}:{info.port}"
        self.url = info.url

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoProcess]:
    server = MotoProcess(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def control(moto: MotoProcess) -> Ec2Control:
    client = Ec2Control(moto.url)
    client.reset()
    return client


@pytest.fixture
def client(moto: MotoProcess, control: Ec2Control) -> Callable[..., Any]:
    """``client("ec2", "eu-west-1")``: a boto3 client of the local server, no retries."""

    build: Any = boto3.client  # typed per literal service name; ours is a variable

    def make(service: str, region: str = "us-east-1", config: Config = NO_RETRIES) -> Any:
        return build(
            service,
            region_name=region,
            endpoint_url=moto.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )

    return make


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def _register(ec2: Any, name: str = "imgpub-test") -> str:
    return str(ec2.register_image(Name=name, RootDeviceName="/dev/sda1")["ImageId"])


def _own_images(ec2: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return list(ec2.describe_images(Owners=["self"], **kwargs)["Images"])


# --- moto's own features still work through the middleware ------------------------------


def test_moto_features_pass_through(client: Callable[..., Any]) -> None:
    ec2 = client("ec2")
    image = _register(ec2)
    ec2.create_tags(Resources=[image], Tags=[{"Key": "Release", "Value": "9.5"}])
    ec2.modify_image_attribute(
        ImageId=image, LaunchPermission={"Add": [{"UserId": "111122223333"}]}
    )
    copy = client("ec2", "eu-west-1").copy_image(
        SourceImageId=image, SourceRegion="us-east-1", Name="imgpub-test"
    )["ImageId"]

    (described,) = _own_images(ec2, ImageIds=[image])
    assert described["Tags"] == [{"Key": "Release", "Value": "9.5"}]
    permissions = ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")
    assert permissions["LaunchPermissions"] == [{"UserId": "111122223333"}]
    assert [i["ImageId"] for i in _own_images(client("ec2", "eu-west-1"))] == [copy]

    ssm = client("ssm")
    ssm.put_parameter(Name="/imgpub/latest", Value=image, Type="String", DataType="aws:ec2:image")
    assert ssm.get_parameter(Name="/imgpub/latest")["Parameter"]["Value"] == image
    assert client("sts").get_caller_identity()["Account"] == "123456789012"


# --- image block public access ------------------------------------------------------------


def test_block_public_access_state_is_per_region_and_switchable(
    client: Callable[..., Any],
) -> None:
    east, west = client("ec2"), client("ec2", "eu-west-1")
    assert east.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == "unblocked"

    enabled = east.enable_image_block_public_access(ImageBlockPublicAccessState="block-new-sharing")
    assert enabled["ImageBlockPublicAccessState"] == "block-new-sharing"
    state = east.get_image_block_public_access_state()
    assert (state["ImageBlockPublicAccessState"], state["ManagedBy"]) == (
        "block-new-sharing",
        "account",
    )
    assert west.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == "unblocked"

    disabled = east.disable_image_block_public_access()
    assert disabled["ImageBlockPublicAccessState"] == "unblocked"
    assert east.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == "unblocked"


def test_block_public_access_is_settable_through_control(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    control.configure(blocked_regions={"eu-west-1"})
    west = client("ec2", "eu-west-1")
    assert west.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == (
        "block-new-sharing"
    )
    west.disable_image_block_public_access()
    assert control.config().blocked_regions == frozenset()


def test_public_share_is_refused_while_blocked(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    ec2 = client("ec2")
    image = _register(ec2)
    control.configure(blocked_regions={"us-east-1"})

    with pytest.raises(ClientError) as structured:
        ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    code, status, message = _error(structured)
    assert (code, status) == ("OperationNotPermitted", 400)
    assert "block public access for AMIs is enabled" in message
    with pytest.raises(ClientError) as flat:
        ec2.modify_image_attribute(
            ImageId=image, Attribute="launchPermission", OperationType="add", UserGroups=["all"]
        )
    assert _error(flat)[0] == "OperationNotPermitted"
    # Sharing with an account is not public sharing.
    ec2.modify_image_attribute(
        ImageId=image, LaunchPermission={"Add": [{"UserId": "111122223333"}]}
    )
    assert _own_images(ec2, ImageIds=[image])[0]["Public"] is False

    ec2.disable_image_block_public_access()
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    assert _own_images(ec2, ImageIds=[image])[0]["Public"] is True


# --- deprecation ---------------------------------------------------------------------------


def test_deprecation_round_trip(client: Callable[..., Any]) -> None:
    ec2 = client("ec2")
    image = _register(ec2)
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=365)
    when = when.replace(second=10)  # EC2 rounds seconds to the nearest minute

    assert ec2.enable_image_deprecation(ImageId=image, DeprecateAt=when)["Return"] is True
    (described,) = _own_images(ec2, ImageIds=[image])
    assert described["DeprecationTime"] == when.strftime("%Y-%m-%dT%H:%M:00.000Z")

    assert ec2.disable_image_deprecation(ImageId=image)["Return"] is True
    assert "DeprecationTime" not in _own_images(ec2, ImageIds=[image])[0]


def test_deprecation_is_validated(client: Callable[..., Any]) -> None:
    ec2 = client("ec2")
    image = _register(ec2)
    now = dt.datetime.now(dt.UTC)
    for when in (now - dt.timedelta(days=1), now + dt.timedelta(days=11 * 366)):
        with pytest.raises(ClientError) as rejected:
            ec2.enable_image_deprecation(ImageId=image, DeprecateAt=when)
        assert _error(rejected)[:2] == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as missing:
        ec2.enable_image_deprecation(ImageId="ami-0123456789abcdef0", DeprecateAt=now)
    assert _error(missing)[0] == "InvalidAMIID.NotFound"
    assert "DeprecationTime" not in _own_images(ec2, ImageIds=[image])[0]


# --- CopyImage --------------------------------------------------------------------------------


def test_copy_image_client_token_is_idempotent(client: Callable[..., Any]) -> None:
    source = _register(client("ec2"))
    west = client("ec2", "eu-west-1")
    request = {"SourceImageId": source, "SourceRegion": "us-east-1", "Name": "imgpub-test"}

    first = west.copy_image(ClientToken="mirror-1", **request)["ImageId"]
    again = west.copy_image(ClientToken="mirror-1", **request)["ImageId"]
    assert again == first
    assert [i["ImageId"] for i in _own_images(west)] == [first]

    with pytest.raises(ClientError) as mismatch:
        west.copy_image(ClientToken="mirror-1", **dict(request, Name="other-name"))
    assert _error(mismatch)[:2] == ("IdempotentParameterMismatch", 400)

    # A token is scoped to its region, as in EC2.
    elsewhere = client("ec2", "eu-west-2").copy_image(ClientToken="mirror-1", **request)
    assert elsewhere["ImageId"] != first


def test_copy_is_pending_then_available(client: Callable[..., Any], control: Ec2Control) -> None:
    control.configure(copy_pending_seconds=1)
    source = _register(client("ec2"))
    west = client("ec2", "eu-west-1")
    copy = west.copy_image(SourceImageId=source, SourceRegion="us-east-1", Name="imgpub-test")[
        "ImageId"
    ]

    assert _own_images(west, ImageIds=[copy])[0]["State"] == "pending"
    pending = _own_images(west, Filters=[{"Name": "state", "Values": ["pending"]}])
    available = _own_images(west, Filters=[{"Name": "state", "Values": ["available"]}])
    assert [i["ImageId"] for i in pending] == [copy]
    assert available == []

    west.get_waiter("image_available").wait(
        ImageIds=[copy], WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    assert _own_images(west, Filters=[{"Name": "state", "Values": ["pending"]}]) == []
    assert [
        i["ImageId"]
        for i in _own_images(west, Filters=[{"Name": "state", "Values": ["available"]}])
    ] == [copy]
    # The source was never delayed.
    assert _own_images(client("ec2"), ImageIds=[source])[0]["State"] == "available"


# --- fault injection --------------------------------------------------------------------------


def test_full_throttling_answers_request_limit_exceeded(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    control.configure(throttle_rate=1.0, seed=1)
    ec2 = client("ec2")
    with pytest.raises(ClientError) as throttled:
        ec2.describe_images(Owners=["self"])
    assert _error(throttled)[:2] == ("RequestLimitExceeded", 503)
    # Only EC2 is throttled.
    client("sts").get_caller_identity()
    assert control.stats().throttled == 1

    control.configure(throttle_rate=0.0)
    assert _own_images(ec2) == []


def test_throttling_is_reproducible_with_a_seed(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    def outcomes() -> list[bool]:
        control.configure(throttle_rate=0.5, seed=42)
        ec2 = client("ec2")
        results = []
        for _ in range(20):
            try:
                ec2.describe_regions()
                results.append(True)
            except ClientError as error:
                assert error.response["Error"]["Code"] == "RequestLimitExceeded"
                results.append(False)
        return results

    first = outcomes()
    control.reset()
    assert outcomes() == first
    assert True in first and False in first


def test_failing_regions_answer_every_call_with_the_configured_error(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    control.configure(
        failing_regions={"eu-west-1": "InternalError", "eu-west-2": "UnauthorizedOperation"}
    )
    with pytest.raises(ClientError) as internal:
        client("ec2", "eu-west-1").describe_images(Owners=["self"])
    assert _error(internal)[:2] == ("InternalError", 500)
    with pytest.raises(ClientError) as unauthorized:
        client("ec2", "eu-west-2").get_image_block_public_access_state()
    assert _error(unauthorized)[:2] == ("UnauthorizedOperation", 403)
    assert _own_images(client("ec2")) == []

    control.configure(failing_regions={})
    assert _own_images(client("ec2", "eu-west-1")) == []


# --- regions ----------------------------------------------------------------------------------


def test_describe_regions_shows_the_accounts_enabled_regions(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    ec2 = client("ec2")
    default = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions()["Regions"]}
    assert set(default) == DEFAULT_ENABLED_REGIONS
    assert set(default.values()) == {"opt-in-not-required"}

    everything = {
        r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions(AllRegions=True)["Regions"]
    }
    assert not any(r.startswith(("cn-", "us-gov-")) for r in everything)
    assert everything["af-south-1"] == "not-opted-in"
    assert set(default) < set(everything)

    control.configure(enabled_regions={"us-east-1", "eu-west-1", "af-south-1"})
    now = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions()["Regions"]}
    assert now == {
        "us-east-1": "opt-in-not-required",
        "eu-west-1": "opt-in-not-required",
        "af-south-1": "opted-in",
    }
    opted = ec2.describe_regions(Filters=[{"Name": "opt-in-status", "Values": ["opted-in"]}])
    assert [r["RegionName"] for r in opted["Regions"]] == ["af-south-1"]

    # A region the account has not enabled rejects calls, as real EC2 does.
    with pytest.raises(ClientError) as rejected:
        client("ec2", "eu-west-2").describe_images(Owners=["self"])
    assert _error(rejected)[:2] == ("AuthFailure", 401)

    control.use_default_regions()
    assert {r["RegionName"] for r in ec2.describe_regions()["Regions"]} == DEFAULT_ENABLED_REGIONS


# --- statistics, reset, control ---------------------------------------------------------------


def test_stats_count_calls_per_action_and_region(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    east, west = client("ec2"), client("ec2", "eu-west-1")
    source = _register(east)
    control.reset_stats()

    copy = west.copy_image(SourceImageId=source, SourceRegion="us-east-1", Name="imgpub-test")
    west.create_tags(Resources=[copy["ImageId"]], Tags=[{"Key": "k", "Value": "v"}])
    _own_images(west, ImageIds=[copy["ImageId"]])
    _own_images(west, ImageIds=[copy["ImageId"]])
    east.describe_regions()
    client("ssm").get_parameters_by_path(Path="/")

    stats = control.stats()
    assert stats.count("DescribeImages", "eu-west-1") == 2
    assert stats.count("CopyImage") == 1
    assert stats.count(region="eu-west-1") == 4
    assert stats.total == 5
    assert (stats.images, stats.image_regions) == (2, 2)
    assert stats.other_services == {"ssm": 1}


def test_reset_clears_moto_and_extension_state(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    ec2 = client("ec2")
    _register(ec2)
    control.configure(copy_pending_seconds=5, blocked_regions={"us-east-1"}, throttle_rate=0.1)
    client("ssm").put_parameter(Name="/imgpub/x", Value="v", Type="String")

    control.reset()

    assert control.config() == type(control.config())()
    assert control.stats().total == 0
    assert _own_images(ec2) == []
    assert client("ssm").describe_parameters()["Parameters"] == []
    assert ec2.get_image_block_public_access_state()["ImageBlockPublicAccessState"] == "unblocked"


def test_control_rejects_bad_settings(control: Ec2Control) -> None:
    with pytest.raises(Ec2ControlError, match="throttle_rate"):
        control.configure(throttle_rate=1.5)
    with pytest.raises(Ec2ControlError, match="copy_pending_seconds"):
        control.configure(copy_pending_seconds=-1)
    assert control.config().throttle_rate == 0.0


# --- the snapshot permission gap --------------------------------------------------------------


def test_snapshot_permission_structured_and_flat_forms_both_work(
    client: Callable[..., Any],
) -> None:
    ec2 = client("ec2")
    image = _register(ec2)
    snapshot = _own_images(ec2, ImageIds=[image])[0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]

    def permissions() -> list[dict[str, str]]:
        answer = ec2.describe_snapshot_attribute(
            SnapshotId=snapshot, Attribute="createVolumePermission"
        )
        return sorted(answer["CreateVolumePermissions"], key=str)

    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Add": [{"UserId": "111122223333"}, {"Group": "all"}]},
    )
    assert permissions() == [{"Group": "all"}, {"UserId": "111122223333"}]
    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot,
        Attribute="createVolumePermission",
        CreateVolumePermission={"Remove": [{"Group": "all"}]},
    )
    assert permissions() == [{"UserId": "111122223333"}]
    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=["444455556666"],
    )
    assert permissions() == [{"UserId": "111122223333"}, {"UserId": "444455556666"}]


# --- the process ------------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def test_server_exits_on_sigterm_and_leaves_nothing_behind(tmp_path: Path) -> None:
    server = MotoProcess(tmp_path)
    host, port = server.address.rsplit(":", 1)
    assert host == "127.0.0.1"
    boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    ).describe_regions()
    assert _children(server.process.pid) == set()

    assert server.stop() == 0
    _, stderr = server.process.communicate()
    assert b"GET /" not in stderr and b"POST /" not in stderr  # no access log
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=5):
        pass


def test_server_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "imgpub.sandbox.moto_main", "--host", "0.0.0.0"],
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode == 2
    assert b"loopback" in result.stderr


def test_exit_with_parent_stops_the_server_when_its_starter_is_killed(tmp_path: Path) -> None:
    port_file = tmp_path / "orphan.port"
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-m', 'imgpub.sandbox.moto_main',"
            " '--exit-with-parent', '--port-file', sys.argv[1]])\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(600)\n",
            str(port_file),
        ],
        stdout=subprocess.PIPE,
    )
    assert starter.stdout is not None
    server_pid = int(starter.stdout.readline())
    deadline = time.monotonic() + STARTUP_DEADLINE
    while not port_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert port_file.exists()

    starter.kill()
    starter.wait()
    deadline = time.monotonic() + 30
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(server_pid):
        os.kill(server_pid, signal.SIGKILL)
        pytest.fail("the server outlived the process that started it")


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_concurrent_copies_with_one_token_make_one_image(client: Callable[..., Any]) -> None:
    source = _register(client("ec2"))
    request = {"SourceImageId": source, "SourceRegion": "us-east-1", "Name": "imgpub-test"}

    def copy(_: int) -> str:
        west = client("ec2", "eu-west-1")
        return str(west.copy_image(ClientToken="same", **request)["ImageId"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = set(pool.map(copy, range(8)))
    assert len(results) == 1
    assert [i["ImageId"] for i in _own_images(client("ec2", "eu-west-1"))] == list(results)


# --- fidelity: CopyImage tags, pending images, RestorableByUserIds ---------------------------


def _snapshots_of(ec2: Any, image: str) -> list[str]:
    (described,) = _own_images(ec2, ImageIds=[image])
    return [b["Ebs"]["SnapshotId"] for b in described["BlockDeviceMappings"] if "Ebs" in b]


def _tags(items: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items}


def test_copy_image_tag_specifications_tag_the_copy_and_its_snapshots(
    client: Callable[..., Any],
) -> None:
    east = client("ec2")
    source = _register(east)
    east.create_tags(Resources=[source], Tags=[{"Key": "Version", "Value": "9.7"}])
    west = client("ec2", "eu-west-1")
    copy = west.copy_image(
        SourceImageId=source,
        SourceRegion="us-east-1",
        Name="imgpub-test",
        TagSpecifications=[
            {"ResourceType": "image", "Tags": [{"Key": "SourceAMI", "Value": source}]},
            {"ResourceType": "snapshot", "Tags": [{"Key": "ManagedBy", "Value": "imgpub"}]},
        ],
    )["ImageId"]

    (image,) = _own_images(west, ImageIds=[copy])
    assert _tags(image["Tags"]) == {"SourceAMI": source}  # source tags only with CopyImageTags
    (snapshot,) = west.describe_snapshots(SnapshotIds=_snapshots_of(west, copy))["Snapshots"]
    assert _tags(snapshot["Tags"]) == {"ManagedBy": "imgpub"}

    copied = client("ec2", "eu-west-2").copy_image(
        SourceImageId=source, SourceRegion="us-east-1", Name="imgpub-test", CopyImageTags=True
    )["ImageId"]
    (image,) = _own_images(client("ec2", "eu-west-2"), ImageIds=[copied])
    assert _tags(image["Tags"]) == {"Version": "9.7"}

    with pytest.raises(ClientError) as bad:
        west.copy_image(
            SourceImageId=source,
            SourceRegion="us-east-1",
            Name="imgpub-other",
            TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}]}],
        )
    assert _error(bad)[:2] == ("InvalidParameterValue", 400)
    assert len(_own_images(west)) == 1  # refused before copying


def test_launch_permission_on_a_pending_copy_is_unavailable(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    control.configure(copy_pending_seconds=30)
    source = _register(client("ec2"))
    west = client("ec2", "eu-west-1")
    copy = west.copy_image(SourceImageId=source, SourceRegion="us-east-1", Name="imgpub-test")[
        "ImageId"
    ]
    for request in (
        {"LaunchPermission": {"Add": [{"Group": "all"}]}},
        {"Attribute": "launchPermission", "OperationType": "add", "UserIds": ["111122223333"]},
    ):
        with pytest.raises(ClientError) as pending:
            west.modify_image_attribute(ImageId=copy, **request)
        code, status, message = _error(pending)
        assert (code, status) == ("InvalidAMIID.Unavailable", 400)
        assert copy in message
    assert _own_images(west, ImageIds=[copy])[0]["Public"] is False
    # The source is available: sharing it works while its copy is pending.
    client("ec2").modify_image_attribute(
        ImageId=source, LaunchPermission={"Add": [{"Group": "all"}]}
    )


def test_describe_snapshots_honours_restorable_by(client: Callable[..., Any]) -> None:
    ec2 = client("ec2")
    public, shared, private = (
        _snapshots_of(ec2, _register(ec2, f"imgpub-{n}"))[0] for n in ("a", "b", "c")
    )
    ec2.modify_snapshot_attribute(
        SnapshotId=public,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    ec2.modify_snapshot_attribute(
        SnapshotId=shared,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=["111122223333"],
    )
    ours = [{"Name": "snapshot-id", "Values": [public, shared, private]}]

    def restorable(*users: str, **kwargs: Any) -> set[str]:
        answer = ec2.describe_snapshots(RestorableByUserIds=list(users), **kwargs)
        return {s["SnapshotId"] for s in answer["Snapshots"]}

    assert restorable("all", Filters=ours) == {public}
    assert restorable("111122223333", Filters=ours) == {public, shared}
    assert restorable("444455556666", Filters=ours) == {public}
    assert restorable("self", Filters=ours) == {public, shared, private}
    assert restorable("all", Filters=[{"Name": "snapshot-id", "Values": [shared]}]) == set()
    assert restorable("all", "111122223333", Filters=ours) == {public, shared}
    # Without RestorableByUserIds every own snapshot is listed, as before.
    plain = ec2.describe_snapshots(Filters=ours)["Snapshots"]
    assert {s["SnapshotId"] for s in plain} == {public, shared, private}


def test_snapshots_of_a_pending_copy_show_progress(
    client: Callable[..., Any], control: Ec2Control
) -> None:
    control.configure(copy_pending_seconds=2)
    source = _register(client("ec2"))
    west = client("ec2", "eu-west-1")
    copy = west.copy_image(SourceImageId=source, SourceRegion="us-east-1", Name="imgpub-test")[
        "ImageId"
    ]
    (snapshot,) = west.describe_snapshots(SnapshotIds=_snapshots_of(west, copy))["Snapshots"]
    assert snapshot["State"] == "pending"
    assert 0 <= int(snapshot["Progress"].rstrip("%")) < 100
    pending = west.describe_snapshots(Filters=[{"Name": "status", "Values": ["pending"]}])
    assert [s["SnapshotId"] for s in pending["Snapshots"]] == [snapshot["SnapshotId"]]

    west.get_waiter("image_available").wait(
        ImageIds=[copy], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    (done,) = west.describe_snapshots(SnapshotIds=[snapshot["SnapshotId"]])["Snapshots"]
    assert (done["State"], done["Progress"]) == ("completed", "100%")
