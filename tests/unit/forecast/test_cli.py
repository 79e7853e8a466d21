from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from services.forecast.cli import app


def test_csv_command_backtests_and_forecasts(tmp_path):
    t = np.arange(120)
    path = tmp_path / "costs.csv"
    pd.DataFrame(
        {"date": pd.date_range("2025-01-01", periods=120), "cost": 100 + 20 * (t % 7 < 5)}
    ).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["csv", str(path), "--models", "seasonal_naive,damped_holt"])
    assert result.exit_code == 0, result.output
    assert "(chosen)" in result.output
    assert "next 30 days" in result.output


def test_csv_command_reports_insufficient_history(tmp_path):
    path = tmp_path / "short.csv"
    pd.DataFrame({"date": pd.date_range("2025-01-01", periods=20), "cost": 1.0}).to_csv(path)
    result = CliRunner().invoke(app, ["csv", str(path), "--models", "seasonal_naive"])
    assert result.exit_code == 1
    assert "insufficient_history" in result.output
