"""Which regions a run copies to, decided from DescribeRegions before any change.

``all`` means every region *enabled for the account* in the source's partition: a copy
into a region that is not opted in fails, and a copy across partitions (aws → aws-cn) is
impossible. Explicit names are checked against the same list, so a typo, a disabled
opt-in region or a China region in a commercial run is named in one error up front
instead of failing one worker later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from imgpub.errors import InputError
from imgpub.mirror.model import RegionSelection
from imgpub.mirror.ssm_names import partition_of

NOT_OPTED_IN = "not-opted-in"


@dataclass(frozen=True)
class KnownRegion:
    """One row of ``DescribeRegions(AllRegions=True)``."""

    name: str
    opt_in_status: str

    @property
    def enabled(self) -> bool:
        return self.opt_in_status != NOT_OPTED_IN


def resolve_regions(
    selection: RegionSelection, source_region: str, known: Iterable[KnownRegion]
) -> tuple[str, ...]:
    """The sorted copy destinations (the source region is never one: the source lives there)."""
    partition = partition_of(source_region)
    in_partition = {r.name: r for r in known if partition_of(r.name) == partition}
    problems: list[str] = []
    if source_region not in in_partition:
        raise InputError(
            "source-region",
            f"{source_region} is not a region of this account's partition",
            "set source-region to the region that holds the source AMIs",
        )
    if not in_partition[source_region].enabled:
        raise InputError(
            "source-region",
            f"{source_region} is not enabled for this account",
            "enable it or pick another",
        )
    for name in selection.exclude:
        if name not in in_partition:
            problems.append(f"{name} (exclude-regions: unknown in partition {partition})")
    if selection.everything:
        chosen = [r.name for r in in_partition.values() if r.enabled]
    else:
        chosen = []
        for name in selection.explicit:
            if name not in in_partition:
                problems.append(f"{name} (unknown in partition {partition})")
            elif not in_partition[name].enabled:
                problems.append(f"{name} (not enabled for this account)")
            else:
                chosen.append(name)
    if problems:
        raise InputError(
            "exclude-regions"
            if all("exclude-regions" in p for p in problems)
            else selection.origin,
            "bad regions: " + ", ".join(problems),
            "fix the names, enable the opt-in regions in the account, or leave them out",
        )
    excluded = set(selection.exclude) | {source_region}
    return tuple(sorted(r for r in chosen if r not in excluded))


def check_kms_keys(keys: Mapping[str, str], source_region: str, targets: Sequence[str]) -> None:
    """A KMS key for a region that gets no copy is a mistake: name it before any change.

    A key is used only by the copy into its region; the source region gets no copy. A key
    for another region means the regions or the keys are not what the user meant.
    """
    unused = sorted(r for r in keys if r not in targets)
    if not unused:
        return
    why = [
        f"{r} (the source region: nothing is copied there)" if r == source_region else r
        for r in unused
    ]
    raise InputError(
        "kms-keys",
        f"a key is given for {', '.join(why)}, which the run does not copy to",
        "drop that line, or add the region to regions",
    )
