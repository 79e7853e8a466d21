"""Each account's effective unit rate per usage type and region, learnt from its CUR.

The rate is cost / usage amount summed over the account's ``Usage`` line items of one
usage type in one region: what the account actually pays per GB or per request after
tiers, region and discounts, not the list price. Until a usage type has been seen (or
its usage sums to zero), the catalogue's us-east-1 list price stands in, and the
answer says which it is, so an estimate priced from the catalogue is labelled so.

>>> book = UnitRateBook()
>>> book.learn("111122223333", "USW2-NatGateway-Bytes", "us-west-2", 4.8, 100.0)
>>> book.rate("111122223333", "NatGateway-Bytes", "us-west-2")
Rate(usd_per_unit=0.048, source='cur')
>>> book.rate("111122223333", "NatGateway-Bytes", "eu-west-1")
Rate(usd_per_unit=0.045, source='catalogue')
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from shared.events import CostLineItem
from shared.usage_metrics import CATALOGUE_USD, base_usage_type

RateSource = Literal["cur", "catalogue"]


class Rate(NamedTuple):
    """USD per CUR usage unit and where it came from."""

    usd_per_unit: float
    source: RateSource


class UnitRateBook:
    """Running (cost, usage) sums per (account, base usage type, region).

    Plain dicts of floats, so the state codec can carry it. Sums (not a mean of
    per-line rates) weigh big line items as the bill does.
    """

    def __init__(self) -> None:
        self.sums: dict[str, list[float]] = {}

    @staticmethod
    def _key(account_id: str, usage_type: str, region: str) -> str:
        return f"{account_id}|{base_usage_type(usage_type)}|{region}"

    def learn(
        self, account_id: str, usage_type: str, region: str, cost: float, usage: float
    ) -> None:
        """Add one line item's (or one day's) cost and usage amount."""
        if usage <= 0 or cost < 0:
            return
        pair = self.sums.setdefault(self._key(account_id, usage_type, region), [0.0, 0.0])
        pair[0] += cost
        pair[1] += usage

    def learn_line(self, item: CostLineItem) -> None:
        """Learn from a CUR line item if it is priced usage (not credits, tax, fees)."""
        if item.line_item_type not in (None, "Usage") or not item.usage_type:
            return
        if item.usage_amount is None:
            return
        self.learn(
            item.account_id,
            item.usage_type,
            item.region or "global",
            item.unblended_cost,
            item.usage_amount,
        )

    def rate(self, account_id: str, usage_type: str, region: str) -> Rate:
        """The account's effective rate, else the catalogue price (0 if unknown)."""
        pair = self.sums.get(self._key(account_id, usage_type, region))
        if pair is not None and pair[1] > 0:
            return Rate(pair[0] / pair[1], "cur")
        base = base_usage_type(usage_type)
        if base.startswith("BoxUsage:"):
            base = "BoxUsage"
        return Rate(CATALOGUE_USD.get(base, 0.0), "catalogue")
