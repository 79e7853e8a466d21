"""Frozen configuration of the streaming metric detector; every number says why it is what it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricDetectorConfig:
    """Global constants of :class:`MetricDetector` (no per-series tuning).

    The prediction and likelihood constants were chosen on all of NAB's realAWSCloudwatch
    files before the validation protocol existed. The ``pattern_*`` and ``season_*``
    constants were chosen on the NAB validation split only (evals/nab/split.py; every try is
    in evals/nab/trials.json, reported in docs/nab-eval.md); both parts are off by default
    because the validation-chosen candidate lost on the held-out files. None is fitted per
    file.
    """

    #: EWMA weight of the newest value in the one-step prediction: 0.3 follows level changes
    #: within a few points, so only the first points of a shift look surprising.
    level_alpha: float = 0.3
    #: EWMA weight of the mean absolute prediction error (the error scale): 0.01 ~ 100 points
    #: (8 h at 5 min), slow enough that a burst of errors does not explain itself away.
    scale_alpha: float = 0.01
    #: Errors are squashed as 1 - exp(-error / (k * scale)); k=3 keeps ordinary noise near 0.3
    #: (with the seasonal expert on, 3.0 beat 2.0 on the NAB validation split; trial 91).
    error_scale_k: float = 3.0
    #: Points averaged into the "recent surprise" (Numenta's likelihood uses 10).
    short_window: int = 10
    #: Points of history the surprise distribution is estimated over: 30 days at 5 min.
    long_window: int = 8640
    #: Points seen before any score above 0: the statistics need ~half a day to settle.
    learning_points: int = 150
    #: A value beyond the range seen so far by this fraction of the range is scored 1.0
    #: (Numenta's "spatial anomaly"); 0 means any new extreme after the learning period.
    spatial_tolerance: float = 0.0
    #: ...but only when the value is also a surprising jump (raw surprise >= this), so a metric
    #: drifting gradually to new highs does not page at every step (+1.1 NAB points, in-sample).
    spatial_min_surprise: float = 0.5
    #: Tail probability at or below which a point is "red"; only the first red point of a
    #: run keeps its score (later ones drop to ``yellow_probability``), as NAB's HTM does,
    #: because NAB rewards only the first detection in a window and charges for the rest.
    red_probability: float = 1e-5
    #: Probability assigned to red points that follow a red point.
    yellow_probability: float = 1e-3
    #: Floors on the surprise distribution's mean and std (Numenta's values) so a perfectly
    #: quiet history does not turn the first tiny error into a certain anomaly.
    min_surprise_mean: float = 0.03
    min_surprise_std: float = 0.0173
    #: Log-scaled likelihoods are divided by log(1e-10): probability 1e-10 maps to score 1.
    probability_floor: float = 1e-10
    #: Score at or above which ``update`` flags an anomaly (and starts the quiet period):
    #: NAB's threshold optimiser picked 0.539 for the standard profile on realAWSCloudwatch
    #: (a tail probability of ~4e-6), and 0.54 also wins when chosen on artificialWithAnomaly.
    #: The validation-chosen candidate (docs/nab-eval.md) uses 0.51.
    threshold: float = 0.54
    #: After a score at or above ``threshold``, the next this-many points score 0 (one day at
    #: 5 min): an incident pages once, not at every aftershock, and NAB charges each extra
    #: alert as a false positive (+1.1 NAB points; 250..350 all gain, in-sample). 0 disables.
    #: The alert and its quiet period count as an incident: the error scale and the surprise
    #: distribution do not learn from it, so a second incident still stands out (+1.4).
    rest_points: int = 288
    #: Half-width of the reported expected band, in error-scale units.
    band_scales: float = 3.0
    #: Points in one season of the seasonal-naive expert (:mod:`.seasonal`; 288 = one day of
    #: 5-minute datapoints); its surprise has its own likelihood, the larger score wins.
    #: 0 = off, the default: the candidate with it (288) won on the NAB validation split but
    #: lost on the held-out files to the detector without it (docs/nab-eval.md).
    season_points: int = 0
    #: Points of history of the seasonal surprise's distribution (its window is part of a
    #: stream's state): 504 (~1.75 days) was the smallest within 0.5 of the best on
    #: validation (trials 113-117; 288 lost 1.4), against 8640 for the main likelihood.
    season_long_window: int = 504
    #: Share of the contextual pattern surprise (:mod:`.pattern`) in the raw surprise fed to
    #: the likelihood; 0 = prediction error only (the pattern memory is then not kept), the
    #: default for the same reason as ``season_points``. The candidate uses 0.5 (0.3 and 0.7
    #: scored lower on validation).
    pattern_weight: float = 0.0
    #: How the two surprises combine: "mean" (weighted), "max", or "product" (weighted
    #: geometric mean: surprising only when both the error and the pattern are); "mean"
    #: won on validation (max, product and a likelihood per surprise were tried).
    pattern_combine: str = "mean"
    #: Quantisation levels over the range seen so far (CAD OSE uses 3 bits: 8): coarse enough
    #: that a noisy plateau sits in one or two levels and its habits get learned.
    pattern_levels: int = 8
    #: Longest context, in points (30 minutes at 5-minute datapoints).
    pattern_order: int = 6
    #: Most counters one stream's pattern memory holds (a few bytes each in the changelog
    #: state); when full, every count halves and the zeros are forgotten. Swept 4000 down to
    #: 125 on validation (trials 106-111, all within 0.5): the smallest within 0.5 of the best.
    pattern_max_counters: int = 125
    #: A context's counts halve when its total reaches this, so old habits fade.
    pattern_max_count: int = 64
