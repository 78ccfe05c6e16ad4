# shnor-reports — two commands on a fresh machine: `make reports` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PARAMS ?= params/demo.yaml
DEMO := data/demo
WORKERS ?=

.PHONY: setup reports demo test reference-runs lab clean help bench pdf docx chromium
.DELETE_ON_ERROR:

help:
	@echo "make reports   — все отчёты по params/demo.yaml (демо-регион создаётся сам) → output/index.html"
	@echo "make test      — все тесты (pytest + nbval)"
	@echo "make setup     — .venv, зависимости из requirements.txt, ядро Jupyter"
	@echo "make demo      — пересоздать демонстрационный регион в $(DEMO)"
	@echo "make lab       — JupyterLab на шаблонах"
	@echo "make reference-runs — пересчитать эталонные прогоны для nbval"
	@echo "make docx      — все отчёты и к каждому документ Word (.docx, A4)"
	@echo "make clean     — удалить сгенерированные данные, прогоны и отчёты"
	@echo "make bench     — замеры производительности → bench/results.json (быстро: make bench BENCH_SIZES=100 BENCH_INGEST_SIZES= BENCH_WHOLE=0)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	# The kernel every template and papermill use: the venv's own Python.
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (shnor-reports)" >/dev/null
	@touch $@

setup: $(STAMP)

$(DEMO)/schools.csv: | $(STAMP)
	$(PY) -m shnor_utils.cli demo --out $(DEMO)

demo: $(STAMP)
	$(PY) -m shnor_utils.cli demo --out $(DEMO)

reports: $(STAMP) $(DEMO)/schools.csv
	$(PY) -m shnor_utils.cli run $(PARAMS) $(if $(WORKERS),--workers $(WORKERS))

# Headless Chromium for the browser test (tests/browser): the Debian package, installed when missing.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Устанавливаю chromium для браузерного теста…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "Нет Chromium: браузерный тест будет пропущен. Установите его: sudo apt-get install chromium"; \
	  echo "(или укажите путь к браузеру: make test CHROMIUM=/путь/к/chromium)"; \
	fi

test: $(STAMP) chromium
	$(PY) -m pyflakes shnor_utils tests bench
	$(PY) -m pytest tests -q -n 2 --dist loadfile
	$(PY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg tests/reference_runs

reference-runs: $(STAMP)
	$(PY) -m tests.make_reference_runs

# JupyterLab refuses to start as root unless told: containers often run as root
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/templates $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf data/demo notebooks/runs/* output/* .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# make bench BENCH_SIZES=100 BENCH_INGEST_SIZES= BENCH_SAMPLE=6 BENCH_WHOLE=0 — a quick run; the defaults are the
# full one (with the whole region of the largest size: every report, index and Excel, ≈ half an hour on 2 cores)
BENCH_SIZES ?= 100 300 1000
BENCH_INGEST_SIZES ?= 3000
BENCH_SAMPLE ?= 12
BENCH_WHOLE ?=
bench: $(STAMP)
	$(PY) bench/run_bench.py --sizes "$(BENCH_SIZES)" --ingest-sizes "$(BENCH_INGEST_SIZES)" --sample $(BENCH_SAMPLE) $(if $(BENCH_WHOLE),--whole-region $(BENCH_WHOLE),)

pdf: $(STAMP) $(DEMO)/schools.csv
	$(PY) -m shnor_utils.cli run $(PARAMS) --pdf

docx: $(STAMP) $(DEMO)/schools.csv
	$(PY) -m shnor_utils.cli run $(PARAMS) --docx $(if $(WORKERS),--workers $(WORKERS))
