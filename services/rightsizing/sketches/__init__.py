"""Bounded per-instance utilisation state: DDSketches per day and hour-of-day accumulators."""

from services.rightsizing.sketches.codec import decode_state, encode_state
from services.rightsizing.sketches.compact import RELATIVE_ACCURACY, CompactSketch
from services.rightsizing.sketches.day import DayRecord
from services.rightsizing.sketches.state import LOOKBACK_CHOICES, InstanceState, Window

__all__ = [
    "LOOKBACK_CHOICES",
    "RELATIVE_ACCURACY",
    "CompactSketch",
    "DayRecord",
    "InstanceState",
    "Window",
    "decode_state",
    "encode_state",
]
