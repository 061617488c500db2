# The two README commands, plus the pieces they are made of.
#
#   make demo    install what is missing, build, run the main job
#   make check   install what is missing, build twice (normal with warnings as
#                errors, then ASan+UBSan), run every test in both, smoke-fuzz
#
# The build itself is CMake + Ninja; this file only sequences it.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps build build-asan build-fuzz test test-asan fuzz-smoke check demo clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DCCAI_WERROR=ON >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCCAI_SANITIZE=ON -DCCAI_WERROR=ON >/dev/null
	@ninja -C $(ASAN_BUILD) -j $(JOBS)

build-fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	  -DCCAI_FUZZ=ON -DCCAI_SANITIZE=ON -DCCAI_TESTS=OFF >/dev/null
	@ninja -C $(FUZZ_BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: build-asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Each libFuzzer target runs for FUZZ_SECONDS on a scratch copy of its seed corpus.
fuzz-smoke: build-fuzz
	@for f in $(FUZZ_BUILD)/fuzz/fuzz_*; do \
	  name=$$(basename $$f); corpus=fuzz/corpus/$${name#fuzz_}; \
	  work=$$(mktemp -d); cp -r $$corpus/. $$work/; \
	  echo "fuzz-smoke: $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 $$work >$$work.log 2>&1 \
	    || { tail -40 $$work.log; rm -rf $$work $$work.log; exit 1; }; \
	  grep -E '^(#[0-9]+.*DONE|Done)' $$work.log | tail -1; rm -rf $$work $$work.log; \
	done

check: test test-asan fuzz-smoke
	@echo "make check: all tests passed (normal and ASan+UBSan builds, fuzz smoke)"

demo: build
	@scripts/demo.sh $(BUILD)/ccai

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
