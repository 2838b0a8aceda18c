# The two entry points of the README. Both bootstrap first (idempotent).
#   make demo   - builds everything and runs the main job
#   make test   - builds and runs every test (C++ via ctest, Python via pytest),
#                 then the sanitizer build's ctest, the format check and clang-tidy
.PHONY: bootstrap build demo test test-cpp test-python test-asan format-check tidy clean

PRESET ?= release
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	cmake --preset $(PRESET)
	cmake --build --preset $(PRESET)

demo: bootstrap
	@scripts/demo.sh

test: bootstrap
	@scripts/test.sh

format-check: bootstrap
	@scripts/format_check.sh

tidy: bootstrap
	@scripts/tidy.sh

clean:
	rm -rf build
