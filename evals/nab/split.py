"""The validation / held-out split of NAB, fixed before any constant was chosen on it.

Validation: every file of ``artificialWithAnomaly`` and ``artificialNoAnomaly``, plus the
``realAWSCloudwatch`` files at even positions (0, 2, 4, ...) when that folder's file names
are sorted. Held out: the ``realAWSCloudwatch`` files at odd positions. Alternating by
sorted name is deterministic, needs no seed, and spreads each metric family (ec2 cpu,
disk, network, elb, rds) over both halves. Every constant of the detector and its alert
threshold are chosen on validation only; held-out files are scored once per reported
configuration and never during tuning (``evals/nab/tune.py`` cannot read them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: The real category whose files are split in two.
REAL_CATEGORY = "realAWSCloudwatch"
#: Categories that go wholly to validation (synthetic; NAB ships their labels).
VALIDATION_CATEGORIES = ("artificialWithAnomaly", "artificialNoAnomaly")


@dataclass(frozen=True)
class Split:
    """File keys (``<category>/<file>.csv``) of each side of the split."""

    validation: tuple[str, ...]
    held_out: tuple[str, ...]
    full_real: tuple[str, ...]  # every realAWSCloudwatch file (both halves)


def split_keys(keys: Iterable[str]) -> Split:
    """Split NAB file keys by the rule in this module's docstring; other categories are ignored.

    >>> s = split_keys(["realAWSCloudwatch/b.csv", "realAWSCloudwatch/a.csv",
    ...                 "realAWSCloudwatch/c.csv", "artificialNoAnomaly/x.csv", "other/y.csv"])
    >>> s.validation
    ('artificialNoAnomaly/x.csv', 'realAWSCloudwatch/a.csv', 'realAWSCloudwatch/c.csv')
    >>> s.held_out
    ('realAWSCloudwatch/b.csv',)
    """
    keys = sorted(set(keys))
    real = [k for k in keys if k.split("/", 1)[0] == REAL_CATEGORY]
    synthetic = [k for k in keys if k.split("/", 1)[0] in VALIDATION_CATEGORIES]
    return Split(
        validation=tuple(synthetic + real[0::2]),
        held_out=tuple(real[1::2]),
        full_real=tuple(real),
    )
