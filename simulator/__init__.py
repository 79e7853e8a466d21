"""A simulated AWS organisation: costs, fleet, injected anomalies and their ground truth.

>>> from datetime import date
>>> from simulator import SimConfig, simulate_organisation
>>> org = simulate_organisation(SimConfig(seed=1, accounts=2, days=35, instances=10))
>>> bool(org.daily_costs.cost.gt(0).all()), len(org.instances)
(True, 10)

See ``README.md`` beside this file for the model.
"""

from simulator.config import SimConfig
from simulator.organisation import SimulatedOrg, simulate_organisation
from simulator.records import InjectedAnomaly, SimInstance, Utilisation

__all__ = [
    "InjectedAnomaly",
    "SimConfig",
    "SimInstance",
    "SimulatedOrg",
    "Utilisation",
    "simulate_organisation",
]
