"""sqlfluff (dbt_project/.sqlfluff: PostgreSQL, jinja templater with dbt's builtins) finds
nothing to complain about in dbt_project/models."""

from __future__ import annotations

import os

from sqlfluff.core import FluffConfig, Linter

from salesops.warehouse import DBT_PROJECT_DIR


def test_models_are_sqlfluff_clean():
    cwd = os.getcwd()
    os.chdir(DBT_PROJECT_DIR)  # the config's macro path is relative to the project
    try:
        config = FluffConfig.from_path(str(DBT_PROJECT_DIR))
        result = Linter(config=config).lint_paths(("models",), processes=2)
    finally:
        os.chdir(cwd)
    problems = [f"{record['filepath']}:{v['start_line_no']} {v['code']} {v['description']}"
                for record in result.as_records() for v in record["violations"]]
    assert result.stats(0, 0)["files"] > 30  # it did lint the models
    assert not problems, "\n".join(problems)
