"""`python -m ml.forecasting train|score|evaluate` on the project's database
(app.sales_pipeline); evaluate prints the backtest's evaluation record as its last line.
A CRM export is backtested by `python -m bench.forecast_backtest --data PATH`.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.forecasting")
    parser.add_argument("command", choices=("train", "score", "evaluate"))
    args, rest = parser.parse_known_args(argv)
    if args.command == "evaluate":
        from ml.forecasting import evaluate

        evaluate.main(rest)
        return
    from salesops.errors import SalesopsError
    from salesops.runtime import resolve_database
    from salesops.settings import get_settings

    try:
        database_url, _ = resolve_database(get_settings())
        if args.command == "train":
            from ml.forecasting.train import train

            result = train(database_url, get_settings().artifacts_path)
            print(json.dumps({"version": result.version, "alias": result.alias,
                              "run_id": result.run_id, "metrics": result.metrics,
                              "baseline": result.baseline_metrics}))
        else:
            from ml.forecasting.score import score

            print(json.dumps({"rows": score(database_url)}))
    except SalesopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
