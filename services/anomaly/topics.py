"""The topics this service reads and writes, and its own changelog topics.

Inputs and outputs are the shared registry's topics. Detector state lives in
compacted changelog topics private to this service, with as many partitions as
the input topic: the state of a key is written to the partition its input came
from, so whoever owns input partition ``p`` restores its state from changelog
partition ``p`` and state moves with its partitions on a rebalance.
"""

from __future__ import annotations

from shared.changelog import ChangelogTopic
from shared.topics import (
    ANOMALIES,
    CLOUDWATCH_DATAPOINTS,
    CLOUDWATCH_USAGE,
    COSTS_DAILY,
    COSTS_RESTATEMENTS,
    CUR_LINE_ITEMS,
    FEEDBACK,
    INVENTORY_EC2,
    UNIT_RATES,
    USAGE_INCIDENTS,
)

COST_INPUT = CUR_LINE_ITEMS
METRIC_INPUT = CLOUDWATCH_DATAPOINTS
# Co-partitioned with the datapoints (both keyed by instance id, same partition
# count): the metric loop reads an instance's type, so its price, into the same state.
INVENTORY_INPUT = INVENTORY_EC2
FEEDBACK_INPUT = FEEDBACK
# Usage metrics, keyed by account, meet the account's unit rates (published by the
# cost loop, same partition count) in the usage loop; the usage loop's incidents meet
# the CUR line items (keyed by account) in the cost loop, which links the two.
USAGE_INPUT = CLOUDWATCH_USAGE
RATES_TOPIC = UNIT_RATES
USAGE_INCIDENTS_TOPIC = USAGE_INCIDENTS
POINTS_OUTPUT = COSTS_DAILY
RESTATEMENTS_OUTPUT = COSTS_RESTATEMENTS
ANOMALIES_OUTPUT = ANOMALIES

# v2: states are written by the data-only codec (v1 held pickles, which are
# never read again; a fresh topic lets an upgraded worker start clean).
COST_STATE = ChangelogTopic("spendstream.anomaly.cost-state.changelog.v2", COST_INPUT)
METRIC_STATE = ChangelogTopic("spendstream.anomaly.metric-state.changelog.v2", METRIC_INPUT)
USAGE_STATE = ChangelogTopic("spendstream.anomaly.usage-state.changelog.v1", USAGE_INPUT)
