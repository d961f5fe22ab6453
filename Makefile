# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test openapi docs migrate clean bench demo client
# `make run` replays the 2024 edition, whose applicant window (D2, 2025-12-22) is past: the services start on the
# programme's calendar at DEV_NOW, which the admin moves with PUT /api/v1/<service>/dev/clock (`make demo` does, to
# let the public notice pass); `make run DEV_NOW=` runs them on the wall clock
DEV_NOW ?= 2025-12-10T10:00:00+08:00
DEV_CLOCK := $(if $(DEV_NOW),$(foreach s,INTAKE ELIGIBILITY CALCULATION DISBURSEMENT,$(s)_FIXED_NOW=$(DEV_NOW)))
BASE_URL ?= http://127.0.0.1:8000
ADMIN_PASSWORD ?= admin-dev-password

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the pinned dependencies

run: $(STAMP)  ## start all five processes on the embedded default; Ctrl-C stops them
	@echo "fundflow: gateway http://127.0.0.1:8000  (API under /api/v1, docs at http://127.0.0.1:8000/docs)"
	@echo "          services intake :8001, eligibility :8002, calculation :8003, disbursement :8004 (data in ./data)"
	@echo "          programme clock at $(or $(DEV_NOW),the wall clock) (DEV_NOW)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(DEV_CLOCK) $(BIN)/honcho start -f Procfile

demo: $(STAMP)  ## run the whole 2024 programme against a running `make run` (BASE_URL, ADMIN_PASSWORD)
	$(BIN)/python -m tools.demo --base-url $(BASE_URL) --admin-password '$(ADMIN_PASSWORD)'

client: $(STAMP)  ## generate a typed Python client of the whole API into build/client (openapi-python-client), type-checked
	$(BIN)/python -m tools.client build/client --check

test: $(STAMP)  ## the whole suite: SQLite and PostgreSQL, local files and an S3 server
	$(BIN)/python -m pytest

openapi: $(STAMP)  ## rewrite the committed OpenAPI documents and the docs generated from them
	for s in intake eligibility calculation disbursement; do $(BIN)/python -m services.$$s openapi; done
	$(BIN)/python -m tools.gendocs

docs: $(STAMP)  ## rewrite the generated documents (role matrix, errors, operations) from the committed code
	$(BIN)/python -m tools.gendocs

migrate: $(STAMP)  ## apply every service's migrations (the embedded default, or *_DATABASE_URL)
	for s in intake eligibility calculation disbursement; do $(BIN)/python -m services.$$s migrate; done

clean:
	rm -rf $(VENV) data

bench: $(STAMP)  ## rerunnable benchmarks (needs wrk and valgrind; installed from Debian's packages when missing)
	@command -v wrk >/dev/null || (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null))
	@command -v valgrind >/dev/null || (apt-get install -y valgrind >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y valgrind >/dev/null))
	$(BIN)/python -m bench $(SECTIONS)
