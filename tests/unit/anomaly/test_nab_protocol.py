"""The NAB protocol: a fixed split, thresholds from validation only, every try logged."""

from __future__ import annotations

from pathlib import Path

from evals.nab.corpus import NAB_PROFILES
from evals.nab.protocol import corpus_split, evaluate, run_validation
from evals.nab.published import load_published
from evals.nab.runner import DETECTORS
from evals.nab.scorer import optimise_threshold, sweep

NAB = Path(__file__).resolve().parents[2] / "fixtures" / "nab"
LABELS = NAB / "labels" / "combined_windows.json"


def test_the_split_is_fixed_disjoint_and_covers_every_real_file() -> None:
    split = corpus_split(NAB / "data")
    assert len(split.validation) == 9
    assert len(split.held_out) == 8
    assert not set(split.validation) & set(split.held_out)
    assert set(split.validation) | set(split.held_out) == set(split.full_real)
    assert split.validation[0] == "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv"
    assert split.held_out[0] == "realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv"


def test_the_threshold_comes_from_validation_and_scores_held_out_unchanged() -> None:
    split = corpus_split(NAB / "data")
    results = load_published(NAB / "results", "numenta", LABELS, "realAWSCloudwatch")
    scores = evaluate(results, split, NAB_PROFILES)
    val = [r for r in results if r.key in split.validation]
    cost = NAB_PROFILES["standard"]
    threshold, _ = optimise_threshold(
        [(sweep(len(r.scores), r.windows, cost), r.scores) for r in val]
    )
    assert scores.validation["standard"].threshold == threshold
    assert scores.held_out["standard"].threshold == threshold
    assert scores.full_real["standard"].threshold == threshold
    assert (scores.validation_files, scores.held_out_files) == (9, 8)
    assert scores.held_out["standard"].windows == 17


def test_tuning_sees_validation_files_only() -> None:
    _, per_file = run_validation("spendstream", DETECTORS["spendstream"], NAB / "data", LABELS)
    assert [key for key, _ in per_file] == list(corpus_split(NAB / "data").validation)


def test_cli_prints_the_protocol_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evals.nab.cli import eval_app

    args = ["nab", "--data", str(NAB / "data"), "--labels", str(LABELS), "--out", str(tmp_path)]
    result = CliRunner().invoke(eval_app, [*args, "--protocol", "--profile", "standard"])
    assert result.exit_code == 0, result.output
    assert "held out" in result.output
    assert "spendstream" in result.output
