"""The skeleton of every day's line items: one row per (series, resource).

Everything that does not change from day to day is computed here once — string
attributes per series (usage type, description, FOCUS categories...) and per resource
(id, tags) as factorised codes, and the CUR 2.0 map columns as Arrow arrays — so a
chunk of millions of line items is assembled by integer indexing, not Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.catalogue import REGION_NAME, REGION_PRICE_FACTOR
from simulator.fleet import APPS
from simulator.hourly import ONE_SHOT_KINDS
from simulator.series import Series

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg

SERIES_FIELDS = (
    "account_id",
    "product_code",
    "service_name",
    "category",
    "usage_type",
    "operation",
    "region",
    "unit",
    "line_item_type",
    "instance_type",
    "kind",
)
MAP_TYPE = pa.map_(pa.string(), pa.string())


@dataclass(frozen=True)
class Factor:
    """A string attribute as integer codes into unique values (a pandas Categorical)."""

    codes: np.ndarray
    uniques: pd.Index

    @classmethod
    def of(cls, values: list[str]) -> Factor:
        """Factorise ``values``."""
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        return cls(codes.astype(np.int32), pd.Index(uniques))

    def take(self, index: np.ndarray) -> pd.Categorical:
        """The attribute for each element of ``index``."""
        return pd.Categorical.from_codes(self.codes[index], categories=self.uniques)


def _description(s: Series, rate: float) -> str:
    if s.line_item_type == "Tax":
        return f"Tax for product code {s.product_code}"
    if s.line_item_type == "Fee":
        return "AWS Support (Business) monthly fee"
    if s.instance_type:
        return f"${rate:.4f} per On Demand Linux {s.instance_type} Instance Hour"
    return f"${rate:.8g} per {s.unit} for {s.usage_type}"


def _map(pairs: list[list[tuple[str, str]]]) -> pa.MapArray:
    return pa.array(pairs, type=MAP_TYPE)


@dataclass(frozen=True)
class LineLayout:
    """Per-line (series, resource) arrays plus per-series and per-line attributes."""

    series: np.ndarray
    weight: np.ndarray
    culprit: np.ndarray
    unit_rate: np.ndarray
    one_shot: np.ndarray
    series_attrs: dict[str, Factor]
    line_attrs: dict[str, Factor]
    tags_map: pa.MapArray
    product_map: pa.MapArray
    payer_account_id: str

    @classmethod
    def of(cls, org: SimulatedOrg) -> LineLayout:
        """Flatten the organisation's series and resources."""
        tags = {m.instance_id: m.tags for m in org.fleet}
        names = {a.account_id: a.name for a in org.accounts}
        names[org.payer_account_id] = "management"
        s_idx: list[int] = []
        weights: list[float] = []
        culprit: list[float] = []
        lines: dict[str, list[str]] = {
            "resource_id": [],
            "tag_app": [],
            "tag_team": [],
            "tags_json": [],
        }
        tag_pairs: list[list[tuple[str, str]]] = []
        rates = np.zeros(len(org.series))
        for i, s in enumerate(org.series):
            n = max(len(s.resource_ids), 1)
            pick = org.culprit.get(s.series_id, -1)
            rates[i] = {"box": s.flat_usd_per_day / 24 / n, "tax": 0.0, "fee": 1.0}.get(
                s.kind, s.rate * REGION_PRICE_FACTOR.get(s.region, 1.0)
            )
            env = names.get(s.account_id, "")
            for r, rid in enumerate(s.resource_ids or ("",)):
                s_idx.append(i)
                weights.append(float(s.weights[r]) if len(s.weights) == n else 1.0 / n)
                culprit.append(1.0 if r == pick else 0.0)
                key = rid if rid in tags else "i-" + rid[4:] if rid.startswith("vol-") else ""
                app = tags[key]["app"] if key in tags else (APPS[r % len(APPS)] if rid else "")
                team = f"team-{app.split('-')[0]}" if app else ""
                pairs = [(k, v) for k, v in (("app", app), ("env", env), ("team", team)) if v]
                lines["resource_id"].append(rid)
                lines["tag_app"].append(app)
                lines["tag_team"].append(team)
                lines["tags_json"].append(
                    "{" + ", ".join(f'"{k}": "{v}"' for k, v in pairs) + "}" if pairs else ""
                )
                tag_pairs.append([(f"user_{k}", v) for k, v in pairs])
        attrs = {f: [getattr(s, f) or "" for s in org.series] for f in SERIES_FIELDS}
        usage = [t == "Usage" for t in attrs["line_item_type"]]
        attrs.update(
            {
                "account_name": [names.get(a, "") for a in attrs["account_id"]],
                "location": [REGION_NAME.get(r, "") for r in attrs["region"]],
                "description": [_description(s, rates[i]) for i, s in enumerate(org.series)],
                "instance_family": [t.split(".")[0] for t in attrs["instance_type"]],
                "tax_type": [
                    "" if u else ("Sales Tax" if t == "Tax" else "")
                    for u, t in zip(usage, attrs["line_item_type"], strict=True)
                ],
                "pricing_term": ["OnDemand" if u else "" for u in usage],
                "pricing_category": ["Standard" if u else "" for u in usage],
                "charge_category": [
                    {"Usage": "Usage", "Tax": "Tax", "Fee": "Purchase"}[t]
                    for t in attrs["line_item_type"]
                ],
                "charge_frequency": [
                    "Recurring"
                    if k in ("monthly", "fee")
                    else ("One-Time" if k == "tax" else "Usage-Based")
                    for k in attrs["kind"]
                ],
            }
        )
        product = [
            [(k, v) for k, v in (("region", r), ("servicename", n)) if v]
            for r, n in zip(attrs["region"], attrs["service_name"], strict=True)
        ]
        return cls(
            series=np.array(s_idx),
            weight=np.array(weights),
            culprit=np.array(culprit),
            unit_rate=rates,
            one_shot=np.isin(attrs["kind"], ONE_SHOT_KINDS),
            series_attrs={k: Factor.of(v) for k, v in attrs.items()},
            line_attrs={k: Factor.of(v) for k, v in lines.items()},
            tags_map=_map(tag_pairs),
            product_map=_map(product),
            payer_account_id=org.payer_account_id,
        )
