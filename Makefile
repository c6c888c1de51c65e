# kpy: a Kafka-compatible broker in Python. `make run` and `make test` are all a new user needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KAFKA_SCHEMAS ?= ../shared/kafka-protocol
DATA ?= ./data
BOOTSTRAP ?=
PYTEST_ARGS ?=

.PHONY: run test lint format generate check-generated conformance conformance-compare differential mutations bench soak fuzz clean js go kafka kafka-jars screenshots

# Two stamps: `make run` needs the runtime only (kpy and its few dependencies); the test,
# lint, conformance and benchmark targets add the test extras (pytest, Kafka clients, ruff, mypy).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	$(PY) -m compileall -q kpy
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m compileall -q conformance
	touch $@

# quixstreams pins an older confluent-kafka than the tests use, so it gets a venv of its own;
# the exactly-once quixstreams test runs with it (and is skipped if it cannot be installed).
QS_VENV ?= .venv-quix
$(QS_VENV)/.installed:
	$(PYTHON) -m venv $(QS_VENV)
	$(QS_VENV)/bin/pip install -q quixstreams || echo "quixstreams could not be installed; its test will be skipped"
	touch $@

# kafkajs for tests/integration/test_kafkajs.py, from tests/js/package-lock.json. Without npm
# the tests are skipped (outside CI); with npm a failed install fails the target.
JS_MODULES := tests/js/node_modules/.installed
$(JS_MODULES): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found; the kafkajs tests will be skipped"; fi

js: $(JS_MODULES)

# franz-go for tests/integration/test_franz_go.py: the modules tests/go/go.sum pins, into Go's
# module cache. Without Go the tests are skipped (outside CI); with Go a failed download fails.
go:
	@if command -v go >/dev/null 2>&1; then \
		cd tests/go && go mod download; \
	else echo "go not found; the franz-go tests will be skipped"; fi

# Apache Kafka 4.4, the reference broker, from Maven Central (conformance/kafka/pom.xml) into
# .cache/ once per machine. Without Maven the tests that need it skip (outside CI).
KAFKA_PORT ?= 19092
kafka-jars: $(VENV)/.installed-test
	@if command -v mvn >/dev/null 2>&1; then \
		$(PY) -c 'from conformance.reference import ensure_jars; ensure_jars()'; \
	else echo "mvn not found; the tests against Apache Kafka will be skipped"; fi

# One Apache Kafka node (KRaft) in the foreground, for comparing by hand.
kafka: kafka-jars
	$(PY) -m conformance.reference --port $(KAFKA_PORT)

install: $(VENV)/.installed

run: $(VENV)/.installed
	@$(PY) -m compileall -q kpy
	$(VENV)/bin/kpy serve --config config/server.properties --override log.dirs=$(DATA)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check kpy conformance tests bench
	$(VENV)/bin/ruff format --check kpy conformance tests bench
	$(VENV)/bin/mypy

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix kpy conformance tests bench
	$(VENV)/bin/ruff format kpy conformance tests bench

# pytest exits 5 when it collected nothing; that must fail loudly, never pass as green.
# --durations=15 lists the slowest tests, to see where the suite's time goes.
# KPY_REFERENCE=1: one Apache Kafka reference broker for the whole run (tests/conftest.py).
test: lint $(QS_VENV)/.installed $(JS_MODULES) go kafka-jars
	KPY_REFERENCE=1 KPY_QUIXSTREAMS_PYTHON=$$($(abspath $(QS_VENV))/bin/python -c 'import quixstreams, sys; print(sys.executable)' 2>/dev/null) \
	$(PY) -m pytest -n 2 --durations=15 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

# The generator writes final, deterministic text (no formatter pass), so --check compares bytes.
generate: $(VENV)/.installed
	$(PY) -m kpy.protocol._codegen --schemas $(KAFKA_SCHEMAS)

check-generated: $(VENV)/.installed
	$(PY) -m kpy.protocol._codegen --schemas $(KAFKA_SCHEMAS) --check

conformance: $(VENV)/.installed-test
	$(PY) -m conformance $(if $(BOOTSTRAP),--bootstrap $(BOOTSTRAP)) --report conformance-report.md --json conformance-report.json

# Bytecode is compiled first so start-up figures do not include compiling the generated codecs.
bench: $(VENV)/.installed-test
	$(PY) -m compileall -q kpy
	$(PY) -m bench

# franz-go's kfake as a standalone broker (our main in bench/kfake), built with Go into
# bench/.peers/kfake/; make bench and make conformance-compare build it on first use too.
.PHONY: kfake
kfake: $(VENV)/.installed-test
	$(PY) -c 'from bench.brokers import ensure_kfake; print(ensure_kfake())'

# The web console's screenshots in the README (docs/console/*.png): every page of a fresh broker
# with some traffic, taken by headless Chromium (Debian's chromium and chromium-driver).
screenshots: $(VENV)/.installed-test
	$(PY) -m tests.integration.console_screenshots

# Longer runs of the fault tests (not part of `make test`).
soak: $(VENV)/.installed-test
	KPY_CRASH_RESTARTS=200 $(PY) -m pytest -p no:cacheprovider -o timeout=3600 -s tests/integration/test_crash_loop.py

fuzz: $(VENV)/.installed-test
	KPY_FUZZ_SCALE=100 $(PY) -m pytest -p no:cacheprovider -o timeout=3600 tests/protocol/test_fuzz_decoder.py

# The same requests to a fresh Apache Kafka and a fresh kpy, answers compared (the checks'
# requests replayed, then EXAMPLES generated sequences per API version); the report lists every
# divergence not in conformance/differential_allow.toml. `make test` runs a reduced version.
EXAMPLES ?= 12
differential: kafka-jars
	$(PY) -m conformance.differential --examples $(EXAMPLES) --report differential-report.md --json differential-report.json

conformance-compare: $(VENV)/.installed-test
	$(PY) -m conformance.side_by_side --readme

# Each conformance check seen failing: the suite against brokers built from mutated copies.
mutations: $(VENV)/.installed-test
	$(PY) -m conformance.mutations

clean:
	rm -rf $(VENV) $(QS_VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache tests/js/node_modules
