"""Business-hours workloads (k-means over 168-hour profiles) and off-hours stop schedules."""

from services.rightsizing.schedules.planner import (
    PlannedSchedule,
    SchedulePolicy,
    load_clustering,
    plan_fleet,
    plan_one,
)
from services.rightsizing.schedules.profiles import normalised_profile, week_matrix

__all__ = [
    "PlannedSchedule",
    "SchedulePolicy",
    "load_clustering",
    "normalised_profile",
    "plan_fleet",
    "plan_one",
    "week_matrix",
]
