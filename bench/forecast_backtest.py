"""Rolling-origin backtest of the revenue forecast on a CRM export, read the way a user
imports it: through its column mapping (connectors.mapped_file).

    python -m bench.forecast_backtest --data ../shared/data/crm/maven_crm [--mapping FILE]

`--data` is the deals CSV or its folder; next to it, `products.csv` (product, sales_price)
prices open deals and `sales_teams.csv` (sales_agent, regional_office) names teams, when
present. Progress goes to stderr; the last line is the evaluation record
`{"eval", "data", "metrics", "baseline"}` (ml.forecasting.evaluate).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.forecasting import evaluate, history, simulate
from salesops.errors import SalesopsError

DEFAULT_MAPPING = Path(__file__).resolve().parents[1] / "examples" / "maven_crm_deals.yaml"


def load(data: str | Path, mapping: str | Path | None = None) -> history.DealHistory:
    return history.from_file(Path(data), Path(mapping or DEFAULT_MAPPING))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.forecast_backtest",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the deals CSV, or its folder")
    parser.add_argument("--mapping", help=f"its column mapping (default {DEFAULT_MAPPING.name})")
    parser.add_argument("--simulations", type=int, default=simulate.N_SIMULATIONS)
    args = parser.parse_args(argv)
    try:
        record = evaluate.evaluate(load(args.data, args.mapping), args.simulations,
                                   progress=lambda m: print(m, file=sys.stderr, flush=True))
    except SalesopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps(record))


if __name__ == "__main__":
    main()
