"""Findings, ranked options and the recommendation event for one instance (pure)."""

from services.rightsizing.recommender.findings import Assessment, assess_instance
from services.rightsizing.recommender.policy import SizingPolicy
from services.rightsizing.recommender.recommendation import Identity, to_event

__all__ = ["Assessment", "Identity", "SizingPolicy", "assess_instance", "to_event"]
