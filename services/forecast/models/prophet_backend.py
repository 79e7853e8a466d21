"""Prophet's cmdstanpy backend with the fit's data written by orjson.

Profiling a full refresh (issue 19) showed ~40% of a Prophet fit's wall time in
stanio's pure-Python JSON writer (the 365 x 25 changepoint matrix and the
regressor matrix, float by float). orjson writes the same shortest round-trip
decimal for every float, so cmdstan reads bit-identical doubles and the fit is
unchanged; only the writing is faster. Everything else is Prophet's own
``CmdStanPyBackend.fit``: its custom-init sanitising, algorithm choice and
Newton fallback.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, cast

import orjson
from prophet.models import CmdStanPyBackend


class OrjsonCmdStanBackend(CmdStanPyBackend):
    """``CmdStanPyBackend`` whose optimize reads data and inits from orjson files."""

    def fit(
        self, stan_init: dict[str, Any], stan_data: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Prophet's MAP fit; the data and inits reach cmdstan as files written here."""
        if "inits" not in kwargs and "init" in kwargs:
            stan_init = self.sanitize_custom_inits(stan_init, kwargs.pop("init"))
        inits, data = self.prepare_data(stan_init, stan_data)
        with tempfile.TemporaryDirectory(prefix="prophet-") as tmp:
            data_path, inits_path = Path(tmp, "data.json"), Path(tmp, "inits.json")
            data_path.write_bytes(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY))
            inits_path.write_bytes(orjson.dumps(inits, option=orjson.OPT_SERIALIZE_NUMPY))
            args: dict[str, Any] = {
                "data": str(data_path),
                "inits": str(inits_path),
                "algorithm": "Newton" if cast(float, data["T"]) < 100 else "LBFGS",
                "iter": int(1e4),
            }
            args.update(kwargs)
            try:
                self.stan_fit = self.model.optimize(**args)
            except RuntimeError:
                if not self.newton_fallback or args["algorithm"] == "Newton":
                    raise
                args["algorithm"] = "Newton"
                self.stan_fit = self.model.optimize(**args)
        params = self.stan_to_dict_numpy(
            self.stan_fit.column_names, self.stan_fit.optimized_params_np
        )
        for par in params:
            params[par] = params[par].reshape((1, -1))
        return params
