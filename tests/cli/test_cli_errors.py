"""User mistakes end in one line that says what to do, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from salesops.supervisor import UpLock


def salesops(*args: str, data_dir: Path, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update({"SALESOPS_DATA_DIR": str(data_dir), "COLUMNS": "200"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "salesops", *args], env=environment,
                          capture_output=True, text=True, timeout=timeout, cwd=data_dir.parent)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_unreachable_database_names_the_variable_and_host(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = salesops("db", "status", data_dir=tmp_path / "data",
                      env={"DATABASE_URL": f"postgresql://app@127.0.0.1:{port}/salesops"})
    message = one_line_error(result)
    assert "DATABASE_URL" in message and f"127.0.0.1:{port}" in message


def test_second_up_on_the_same_data_folder_says_one_is_running(tmp_path):
    data = tmp_path / "data"
    lock = UpLock(data)
    lock.acquire()
    try:
        message = one_line_error(salesops("up", data_dir=data))
    finally:
        lock.release()
    assert "already running" in message and str(os.getpid()) in message


def test_corrupted_data_folder_is_explained(tmp_path):
    data = tmp_path / "data"
    (data / "postgres").mkdir(parents=True)
    (data / "FORMAT").write_text("1\n")
    message = one_line_error(salesops("db", "status", data_dir=data))
    assert "corrupted" in message and "SALESOPS_DATA_DIR" in message


def test_data_folder_from_another_version_is_explained(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "FORMAT").write_text("999\n")
    message = one_line_error(salesops("db", "migrate", data_dir=data))
    assert "format 999" in message


def test_port_in_use_names_the_flag(tmp_path, pg_server_url):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = salesops("up", "--api-port", str(port), data_dir=tmp_path / "data",
                          env={"DATABASE_URL": pg_server_url})
    message = one_line_error(result)
    assert f"Port {port}" in message and "--api-port" in message


def test_status_json_when_nothing_runs(tmp_path):
    result = salesops("status", "--json", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["running"] is False and state["services"] == []


@pytest.mark.parametrize("scale", ["5", "2000000"])
def test_demo_generate_rejects_a_scale_out_of_range(tmp_path, scale):
    message = one_line_error(salesops("demo", "generate", "--out", str(tmp_path / "d"),
                                      "--scale", scale, data_dir=tmp_path / "data"))
    assert "100" in message and "1,000,000" in message.replace("1000000", "1,000,000")


def test_db_migrate_status_and_shell_on_a_server(tmp_path, database_url):
    data = tmp_path / "data"
    env = {"DATABASE_URL": database_url}
    migrated = salesops("db", "migrate", data_dir=data, env=env)
    assert migrated.returncode == 0 and "->" in migrated.stdout
    status = salesops("db", "status", data_dir=data, env=env)
    assert status.returncode == 0 and "up to date" in status.stdout and "app" in status.stdout
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    environment.update(SALESOPS_DATA_DIR=str(data), DATABASE_URL=database_url)
    shell = subprocess.run([sys.executable, "-m", "salesops", "db", "shell"], env=environment,
                           input="select 6 * 7 as answer;\n", capture_output=True, text=True,
                           timeout=60)
    assert shell.returncode == 0 and "42" in shell.stdout, shell.stderr


def test_ml_commands_come_from_the_ml_package_and_explain_what_is_missing(tmp_path,
                                                                           make_database):
    data, env = tmp_path / "data", {"DATABASE_URL": make_database("salesops_ml_cli")}
    listed = salesops("ml", "--help", data_dir=data)
    assert listed.returncode == 0
    assert all(command in listed.stdout for command in ("train", "evaluate", "score"))
    message = one_line_error(salesops("ml", "evaluate", "lead_scoring", data_dir=data, env=env))
    assert "marts.lead_features has not been built" in message
