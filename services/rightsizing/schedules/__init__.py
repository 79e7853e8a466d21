"""Business-hours workloads (k-means over 168-hour profiles) and off-hours stop schedules."""

from services.rightsizing.schedules.planner import (
    PlannedSchedule,
    SchedulePolicy,
    plan_fleet,
    plan_one,
)
from services.rightsizing.schedules.profiles import (
    normalised_profile,
    normalised_profiles,
    week_matrices,
    week_matrix,
)

__all__ = [
    "PlannedSchedule",
    "SchedulePolicy",
    "normalised_profile",
    "normalised_profiles",
    "plan_fleet",
    "plan_one",
    "week_matrices",
    "week_matrix",
]
