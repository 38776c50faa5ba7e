# The user's entry points: `make` (deps, configure, build), `make test`, `make demo`, `make fuzz`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# lo2's own builds treat warnings as errors; a plain `cmake` build (a packager's) does not.
CMAKE_ARGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLO2_WERROR=ON
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 60

.PHONY: all deps build build-asan images test test-unit demo fuzz format clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLO2_SANITIZE=ON -DLO2_WERROR=ON >/dev/null
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

# A short collection on the lab stack (3 tags and a fault test: the token service paused for the
# middle third of its test; 20-30 s each), what it holds, and its export in the LO2 dataset
# layout (what LogLead reads) under $(DEMO_OUT)/lo2-dataset.
DEMO_TAGS ?= correct,get_client_404_no_client,register_user_400_user_exists,fault_pause_oauth2-token
DEMO_FAULT ?= pause=oauth2-token,onset=33%,duration=33%
DEMO_OUT  ?= demo-runs
demo: images
	@mkdir -p $(DEMO_OUT)
	@dir=$$($(BUILD)/lo2 run -c compose-files/lab/lo2.yml --tags $(DEMO_TAGS) --fault $(DEMO_FAULT) --durations-min 20 \
	  --durations-max 30 --output-root $(CURDIR)/$(DEMO_OUT)) && \
	  echo && echo "The run is in $$dir" && echo && $(BUILD)/lo2 summary "$$dir" && echo && \
	  $(BUILD)/lo2 export "$$dir" -o $(CURDIR)/$(DEMO_OUT)/lo2-dataset

# libFuzzer targets (tests/fuzz/fuzz_<name>.c), each run FUZZ_TIME seconds with tests/fixtures/<name>/
# as seed corpus; a crash stops make with the finding kept in $(FUZZ_BUILD)/findings/<target>/.
fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang)" >&2; exit 1; }
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DLO2_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -Wno-unknown-warning-option" \
	  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
	@set -e; for src in tests/fuzz/fuzz_*.c; do \
	  t=$$(basename $$src .c); seeds=tests/fixtures/$${t#fuzz_}; out=$(FUZZ_BUILD)/findings/$$t; \
	  cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $$t >/dev/null; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $$out; \
	  echo "== $$t: $(FUZZ_TIME)s, seeds $$seeds"; \
	  if ! $(FUZZ_BUILD)/tests/$$t -max_total_time=$(FUZZ_TIME) -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
	      -artifact_prefix=$$out/ -print_final_stats=1 $(FUZZ_BUILD)/corpus/$$t \
	      $$( [ -d $$seeds ] && echo $$seeds ) >$$out/log 2>&1; then \
	    tail -40 $$out/log; echo "fuzz: $$t found a problem; see $$out/" >&2; exit 1; fi; \
	  grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' $$out/log; \
	done

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
