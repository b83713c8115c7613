# Each target creates or reuses .venv/ (scripts/setup.sh) before doing its job.
VENV := .venv
OUT ?= out/demo
ARGS ?=

.PHONY: setup demo test benchmark js clean

setup:
	@bash scripts/setup.sh

demo: setup
	FIFTYONE_DO_NOT_TRACK=true $(VENV)/bin/gridtsne --demo --label-borders --out $(OUT) --overwrite

test: setup
	@bash scripts/test.sh $(ARGS)

benchmark: setup
	FIFTYONE_DO_NOT_TRACK=true $(VENV)/bin/python benchmarks/bench_layout.py

# the panel's React component -> dist/index.umd.js (committed; needs Node.js 18+)
js:
	cd js && npm ci --no-audit --no-fund && npx vite build

clean:
	rm -rf $(VENV) out .pytest_cache
