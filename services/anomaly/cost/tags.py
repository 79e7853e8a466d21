"""Cost-allocation tag series: which tag series a line item's spend belongs to.

For each configured tag key an account has one series per tag value, one for
spend without the key ("untagged") and one ("other") for values past the cap.
Tag values come from resource owners, so their number is not ours to choose: the
first ``max_values_per_key`` distinct values an account shows for a key get a
series each, later ones share the "other" series, and a value longer than AWS
allows (256 characters) is "other" too. The detector count per account is thus at
most ``len(keys) * (max_values_per_key + 2)`` whatever the input.

>>> registry = TagRegistry()
>>> cfg = TagConfig(keys=("team",), max_values_per_key=1)
>>> registry.series("1", {"team": "a"}, cfg), registry.series("1", {"team": "b"}, cfg)
(['daily/1#team=a'], ['daily/1#team=*'])
>>> registry.series("1", {}, cfg)
['daily/1#team=']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.events.costs import OTHER_TAG_VALUE, tag_series_id

# AWS caps a tag value at 256 characters; a longer one is not a real tag.
MAX_TAG_VALUE_CHARS = 256


@dataclass(frozen=True)
class TagConfig:
    """Tag keys that get series, and how many values per key and account at most."""

    keys: tuple[str, ...] = ()
    # Enough for the teams or environments of one account; a key used for
    # per-resource ids (hundreds of values) is not a cost-allocation view.
    max_values_per_key: int = 50


@dataclass
class TagRegistry:
    """The tag values one account has series for, per key (first seen first)."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def series(self, account_id: str, tags: Mapping[str, str], config: TagConfig) -> list[str]:
        """The daily tag series ids (one per configured key) that ``tags`` belong to."""
        out: list[str] = []
        for key in config.keys:
            value = tags.get(key, "")
            known = self.values.setdefault(key, [])
            if value and value not in known:
                if len(known) < config.max_values_per_key and len(value) <= MAX_TAG_VALUE_CHARS:
                    known.append(value)
                else:
                    value = OTHER_TAG_VALUE
            out.append(tag_series_id("daily", account_id, key, value))
        return out
