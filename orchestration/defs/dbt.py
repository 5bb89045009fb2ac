"""dbt models as Dagster assets (dagster-dbt); dbt tests run as their asset checks.

Two jobs build them: `dbt_incremental` (hourly) runs dbt's `incremental` selector (the
incremental models, the tables they read, campaign performance and attribution by channel)
with the data tests of the rows it wrote; `dbt_full_build`
(daily, before the nightly ML jobs) recomputes every model with every test
(orchestration/dbt_args.py).

dbt's `raw`, `app` and `ml` sources map to the keys of the ingest, merge and ml assets, so
the whole flow is one lineage graph. The freshness rules of the sources (their yml) are
asset checks on those source assets, run by `dbt source freshness`.
"""


import json
import os
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliResource,
    DbtProject,
    build_dbt_asset_selection,
    dbt_assets,
)

from orchestration.dbt_args import INCREMENTAL_SELECTOR, full_build_args, incremental_vars
from salesops.warehouse import DBT_PROJECT_DIR, dbt_env

GROUP_PREFIX = "dbt_"
GROUPS = tuple(f"{GROUP_PREFIX}{layer}" for layer in ("staging", "intermediate", "marts"))

project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def configure_environment(database_url: str | None) -> None:
    """dbt reads its connection from the environment (dbt_project/profiles.yml), and
    dagster-dbt runs the `dbt` of this environment, which must be on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    if database_url:
        os.environ.update(dbt_env(database_url))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def manifest_is_stale() -> bool:
    """Missing, or older than a file of the dbt project (cheaper than parsing every load)."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "selectors.yml",
               *(f for folder in ("models", "macros", "tests", "seeds")
                 for f in (DBT_PROJECT_DIR / folder).rglob("*") if f.is_file())]
    return any(f.stat().st_mtime > built for f in sources)


def prepare() -> None:
    """The manifest is built by `dbt parse`, when the project changed since the last one."""
    configure_environment(os.environ.get("DATABASE_URL"))
    if manifest_is_stale():
        project.preparer.prepare(project)


class Translator(DagsterDbtTranslator):
    """Models grouped by layer (staging, intermediate, marts); seeds (reference data such as
    currency rates, read from staging on) with staging."""

    def get_group_name(self, dbt_resource_props) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "dbt"
            return f"{GROUP_PREFIX}{layer}"
        if dbt_resource_props["resource_type"] == "seed":
            return f"{GROUP_PREFIX}staging"
        return super().get_group_name(dbt_resource_props)


prepare()


class BuildMode(Enum):
    """build: `dbt build` of the selected assets; incremental: the data tests read only the
    rows this run wrote (the hourly job); full_refresh: every model recomputed from its
    inputs (the daily job)."""

    BUILD = "build"
    INCREMENTAL = "incremental"
    FULL_REFRESH = "full_refresh"


class DbtBuildConfig(dg.Config):
    mode: BuildMode = BuildMode.BUILD


def build_args(mode: BuildMode) -> list[str]:
    """The `dbt build` arguments of a run; dagster-dbt adds the selection of its assets."""
    if mode is BuildMode.INCREMENTAL:
        return ["build", "--vars", json.dumps(incremental_vars())]
    return full_build_args() if mode is BuildMode.FULL_REFRESH else ["build"]


@dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=Translator(),
            op_tags={"salesops/heavy": "dbt"})
def salesops_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                 config: DbtBuildConfig) -> Iterator:
    yield from dbt.cli(build_args(config.mode), context=context).stream()


dbt_incremental_job = dg.define_asset_job(
    "dbt_incremental",
    selection=build_dbt_asset_selection([salesops_dbt], dbt_selector=INCREMENTAL_SELECTOR),
    config=dg.RunConfig(ops={"salesops_dbt": DbtBuildConfig(mode=BuildMode.INCREMENTAL)}),
    description="The incremental dbt models (and the tables they read), with the data tests "
                "of the rows this run wrote.")

dbt_full_build_job = dg.define_asset_job(
    "dbt_full_build", selection=dg.AssetSelection.assets(salesops_dbt),
    config=dg.RunConfig(ops={"salesops_dbt": DbtBuildConfig(mode=BuildMode.FULL_REFRESH)}),
    description="Every dbt model recomputed (--full-refresh), with every data and unit test.")

dbt_incremental_schedule = dg.ScheduleDefinition(
    job=dbt_incremental_job, cron_schedule="15 * * * *",
    description="Hourly: new and changed data into the incremental marts.")

dbt_full_build_schedule = dg.ScheduleDefinition(
    job=dbt_full_build_job, cron_schedule="0 2 * * *",
    description="Daily, before the nightly ML jobs: the whole warehouse rebuilt and tested.")


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=project, profiles_dir=str(DBT_PROJECT_DIR))


def freshness_sources() -> dict[str, dg.AssetKey]:
    """The asset key of each dbt source that has a freshness rule, by its dbt unique id."""
    manifest = json.loads(project.manifest_path.read_text())
    translator = Translator()
    return {unique_id: translator.get_asset_key(props)
            for unique_id, props in manifest["sources"].items()
            if any(((props.get("freshness") or {}).get(bound) or {}).get("count")
                   for bound in ("warn_after", "error_after"))}


FRESHNESS_SOURCES = freshness_sources()
FRESHNESS_CHECK = "source_freshness"


@dg.multi_asset_check(
    name="dbt_source_freshness", can_subset=True,
    specs=[dg.AssetCheckSpec(FRESHNESS_CHECK, asset=key, blocking=False,
                             description="dbt source freshness: the newest row's loaded "
                                         "time against the source's warn_after/error_after")
           for key in FRESHNESS_SOURCES.values()],
)
def source_freshness(context: dg.AssetCheckExecutionContext,
                     dbt: DbtCliResource) -> Iterator[dg.AssetCheckResult]:
    """`dbt source freshness`, one result per source: passed when fresh; a warning past
    warn_after, an error past error_after or when the table holds no row. A job that runs
    the checks of some sources (e.g. with their ingest assets) gets only theirs."""
    configure_environment(os.environ.get("DATABASE_URL"))  # the database of this run
    invocation = dbt.cli(["source", "freshness"], raise_on_error=False).wait()
    results = json.loads((invocation.target_path / "sources.json").read_text())["results"]
    for result in results:
        key = FRESHNESS_SOURCES.get(result["unique_id"])
        if key is None or dg.AssetCheckKey(key, FRESHNESS_CHECK) not in (
                context.selected_asset_check_keys):
            continue
        status = result["status"]
        age = result.get("max_loaded_at_time_ago_in_s")
        loaded = result.get("max_loaded_at")
        yield dg.AssetCheckResult(
            asset_key=key, check_name=FRESHNESS_CHECK, passed=status == "pass",
            severity=dg.AssetCheckSeverity.WARN if status == "warn"
            else dg.AssetCheckSeverity.ERROR,
            metadata={"status": status,
                      "max_loaded_at": loaded if loaded and not loaded.startswith("0001")
                      else "never loaded",
                      "age_hours": round(age / 3600, 1) if age and age > 0 else None})
