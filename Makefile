# The user's entry points: `make` (deps, configure, build), `make test`, `make demo`, `make fuzz`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build build-asan images test test-plain test-asan demo fuzz format format-check bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLO2_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# Images the integration tests and the demo run (built offline; a no-op when present).
images: build
	@LO2=$(CURDIR)/$(BUILD)/lo2 scripts/build-images

# Every test, then the same tests again under ASan+UBSan; CTest's summary ends the output.
test: images build-asan
	@scripts/check-format
	@cd $(BUILD) && ctest --output-on-failure -j 1
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 1

test-unit: build
	@cd $(BUILD) && ctest -L unit --output-on-failure

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
