"""`python -m ml.next_best_action train|score|evaluate` on the project's database; evaluate
prints the replay's evaluation record as its last line."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.next_best_action")
    parser.add_argument("command", choices=("train", "score", "evaluate"))
    args = parser.parse_args(argv)
    from salesops.db import get_engine
    from salesops.errors import SalesopsError
    from salesops.runtime import resolve_database
    from salesops.settings import get_settings

    try:
        database_url, _ = resolve_database(get_settings())
        if args.command == "train":
            from ml.next_best_action.train import train

            r = train(database_url, get_settings().artifacts_path)
            print(json.dumps({"version": r.version, "alias": r.alias, "run_id": r.run_id,
                              "metrics": r.metrics, "baseline": r.baseline}))
        elif args.command == "score":
            from ml.next_best_action.score import score

            print(json.dumps({"rows": score(database_url)}))
        else:
            import pandas as pd

            from ml.metrics import evaluation_record
            from ml.next_best_action import MODEL_NAME, history
            from ml.next_best_action.evaluate import replay

            records, actions, progress = history.load(get_engine(database_url))
            points = history.decision_points(records, actions, progress,
                                             pd.Timestamp.now(tz=None))
            ev = replay(points, records)
            print(json.dumps(evaluation_record(
                MODEL_NAME, f"app: weekly decisions from {ev.cutoff:%Y-%m-%d} (replay)",
                ev.metrics, ev.baseline)))
    except SalesopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
