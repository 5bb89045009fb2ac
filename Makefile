# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
UV_VERSION := 0.13.9
UV := .uv/bin/uv
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: demo test lint bench clean-data

demo: .venv/.synced
	.venv/bin/salesops up

test: .venv/.synced
	.venv/bin/python -m pytest

lint: .venv/.synced
	.venv/bin/ruff check .

# uv itself lives in its own small venv, so `uv sync` never removes it.
$(UV):
	python3 -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The environment, exactly as locked.
.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	touch $@

clean-data:
	rm -rf .salesops
