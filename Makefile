# Each target creates or reuses .venv/ (scripts/setup.sh) before doing its job.
VENV := .venv
OUT ?= out/demo
ARGS ?=

.PHONY: setup demo test benchmark clean

setup:
	@bash scripts/setup.sh

demo: setup
	FIFTYONE_DO_NOT_TRACK=true $(VENV)/bin/gridtsne --demo --out $(OUT) --overwrite

test: setup
	@bash scripts/test.sh $(ARGS)

benchmark: setup
	FIFTYONE_DO_NOT_TRACK=true $(VENV)/bin/python benchmarks/bench_layout.py

clean:
	rm -rf $(VENV) out .pytest_cache
