# The two commands a newcomer needs (see README.md):
#   make run    build, create a node with sample data if none exists, show
#               it, then serve it over TAXII 2.1 (Ctrl-C stops it)
#   make test   build and run every test, then again under ASan+UBSan
# Both install missing Debian packages first (scripts/setup.sh).

BUILD      ?= build
ASAN_BUILD ?= build-asan
GENERATOR  := -G Ninja
CMAKE_OPTS ?=
ifdef CI
CMAKE_OPTS += -DSTRAIT_WERROR=ON
endif
JOBS       ?= 2

.PHONY: all setup build build-asan run test test-fast test-asan bench \
	bench-import bench-taxii bench-match bench-lookup bench-export bench-fed \
	bench-hotline clean \
        fuzz format golden

all: build

setup:
	@sh scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		$(CMAKE_OPTS) >/dev/null
	@ninja -C $(BUILD)

build-asan: setup
	@cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug \
		-DSANITIZE=address,undefined $(CMAKE_OPTS) >/dev/null
	@ninja -C $(ASAN_BUILD)

run: build
	@sh scripts/run.sh $(BUILD)/src/daemon/strait

# Three federated nodes (KR, JP, US) on loopback and a short scenario; they
# keep running until Ctrl-C. DEMO_DIR (default ./demo-run) is made anew.
DEMO_DIR ?= demo-run
demo: build
	@/usr/bin/python3 scripts/demo.py --bin $(BUILD)/src/daemon/strait \
		--dir $(DEMO_DIR)

# Every test (unit, store contract, fuzz corpus replay, integration), in the
# normal build and then in the ASan+UBSan build.
test: test-fast test-asan

test-fast: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: build-asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Every benchmark, one after the other (minutes; figures in bench/RESULTS.md).
bench: bench-import bench-taxii bench-match bench-lookup bench-export \
	bench-fed bench-hotline

bench-import: build
	@sh bench/run.sh $(BUILD)

bench-taxii: build
	@sh bench/run_taxii.sh $(BUILD)

bench-match: build
	@$(BUILD)/bench/bench_match

bench-lookup: build
	@sh bench/run_lookup.sh $(BUILD)

bench-export: build
	@sh bench/run_export.sh $(BUILD)

bench-fed: build
	@sh bench/run_fed.sh $(BUILD)

bench-hotline: build
	@sh bench/run_hotline.sh $(BUILD)

# Writes the golden files of the formats in and out again from the current
# code (tests/golden/): review the diff before committing it.
golden: build
	@STRAIT_GOLDEN_UPDATE=1 STRAIT_BIN=$(BUILD)/src/daemon/strait \
	 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	 tests/integration/test_exports.py tests/integration/test_misp.py \
	 tests/integration/test_stix20.py \
	 -k "golden or imports_as_these or is_upgraded or round_trip_as"

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
