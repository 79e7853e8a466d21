"""Business-hours workloads (k-means over 168-hour profiles) and off-hours stop schedules."""

from services.rightsizing.schedules.kmeans import load_clustering
from services.rightsizing.schedules.planner import (
    PlannedSchedule,
    SchedulePolicy,
    on_off_members,
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
    "load_clustering",
    "normalised_profile",
    "normalised_profiles",
    "on_off_members",
    "plan_one",
    "week_matrices",
    "week_matrix",
]
