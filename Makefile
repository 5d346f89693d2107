# The two commands of the README, plus a few conveniences.
.PHONY: run test test-fast bench bench-scale infra-up infra-down lint deploy-check

run:            ## run the platform: infrastructure + every service, logs followed
	bash deploy/run.sh

test:           ## type-check (mypy --strict: the kernel and every domain), then every test on real infrastructure
	uv sync --frozen --quiet
	uv run mypy
	uv run pytest $(PYTEST_ARGS)

test-fast:      ## the tests that need no infrastructure (no Kafka, no database): under a minute
	uv sync --frozen --quiet
	uv run pytest -m "not integration" $(PYTEST_ARGS)

bench:          ## print figures: kernel, gate over HTTP, views, mobile pages in Chromium, data sharing, feeds, instances
	uv run python bench/kernel_bench.py
	uv run python bench/gate_bench.py
	uv run python bench/views_bench.py --sites 200
	uv run python bench/web_bench.py
	uv run python bench/sharing_bench.py
	uv run python bench/feeds_bench.py
	uv run python bench/instances_bench.py

bench-scale:    ## the city generator and scale benchmark: 10k, 100k, 1 M machines (JSON + PNG in bench/results/)
	uv run python bench/scale_bench.py $(SCALE_ARGS)

infra-up:
	bash deploy/native.sh start

infra-down:
	bash deploy/run.sh stop; bash deploy/native.sh stop

lint:
	uv run ruff check .
	uv run mypy

deploy-check:   ## the Dockerfile, Compose and Kubernetes manifests, checked offline (tools into var/tools)
	bash deploy/check.sh
