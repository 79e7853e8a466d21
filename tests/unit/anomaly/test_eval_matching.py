from datetime import date

from evals.cost_matching import FoundIncident, Truth, score

TRUTHS = [
    Truth("a", "spike", "daily/1/EC2/Box", date(2024, 2, 1), date(2024, 2, 2), "Box"),
    Truth("b", "level_shift", "daily/2/S3/Storage", date(2024, 3, 1), date(2024, 3, 31), "Storage"),
    Truth("r", "restatement", "daily/1/RDS/IO", date(2024, 2, 10), date(2024, 2, 10), "IO"),
]


def inc(names: tuple[str, ...], start: date, end: date, top: str | None = None) -> FoundIncident:
    return FoundIncident("x", names, start, end, top, 0.9 if top else 0.0)


def test_incident_naming_an_ancestor_detects_and_restatement_counts_neither_way() -> None:
    found = [
        inc(("daily/1",), date(2024, 2, 2), date(2024, 2, 3), "Box"),
        inc(("daily/1/RDS/IO",), date(2024, 2, 10), date(2024, 2, 11)),
        inc(("daily/3",), date(2024, 2, 5), date(2024, 2, 6)),
    ]
    result = score(found, TRUTHS)
    assert (result.tp, result.fn, result.fp) == (1, 1, 1)
    assert result.precision == 0.5
    assert result.recall == 0.5
    assert result.median_delay_days == 1
    assert (result.rootcause_hits, result.rootcause_total) == (1, 1)


def test_incident_outside_the_window_is_a_false_positive() -> None:
    result = score([inc(("daily/1/EC2/Box",), date(2024, 1, 1), date(2024, 1, 2))], TRUTHS)
    assert (result.tp, result.fp) == (0, 1)
