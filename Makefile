# mailbell: the two set-up commands on a fresh Debian 12 machine are
#   make run     install what is missing, build, start the daemon
#   make check   install what is missing, build, run every test
#                (once normally, once under ASan + UBSan, and each
#                fuzzer for a few seconds when clang is installed)
#   make fuzz    run every fuzzer for SECONDS seconds (default 60)
#   make deb     build the Debian package into build-deb/ and lint it

BUILD ?= build
SAN_BUILD ?= build-san
FUZZ_BUILD ?= build-fuzz
DEB_BUILD ?= build-deb
SECONDS ?= 60
MESON ?= meson
NINJA ?= ninja

.PHONY: all build run check unit fuzz fuzz-smoke deb deps deps-check deps-deb \
	clean

all: build

deps:
	@scripts/install-deps.sh run

deps-check:
	@scripts/install-deps.sh check

deps-deb:
	@scripts/install-deps.sh deb

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

$(SAN_BUILD)/build.ninja:
	$(MESON) setup $(SAN_BUILD) -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fno-sanitize-recover=all

# Every library the fuzzers link is instrumented for coverage, so
# libFuzzer sees the parsers' edges and not only the harnesses'.
$(FUZZ_BUILD)/build.ninja:
	CC=clang $(MESON) setup $(FUZZ_BUILD) -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all'

build: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

run: build
	@scripts/run.sh $(BUILD)

check: deps-check $(BUILD)/build.ninja $(SAN_BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	$(MESON) test -C $(BUILD) --print-errorlogs
	$(NINJA) -C $(SAN_BUILD)
	$(MESON) test -C $(SAN_BUILD) --print-errorlogs
	$(MAKE) fuzz-smoke

# Each fuzzer for a few seconds (the 'fuzz' suite), if clang is here.
fuzz-smoke:
	@if command -v clang >/dev/null 2>&1; then \
		$(MAKE) $(FUZZ_BUILD)/build.ninja && \
		$(NINJA) -C $(FUZZ_BUILD) fuzzers && \
		$(MESON) test -C $(FUZZ_BUILD) --no-rebuild --suite fuzz \
			--print-errorlogs; \
	else \
		echo "mailbell: no clang, fuzzers skipped"; \
	fi

# Every fuzzer for SECONDS seconds, one after the other; fails if any
# finds a crash (the input is kept under $(FUZZ_BUILD)/fuzz/run/).
fuzz: deps-check $(FUZZ_BUILD)/build.ninja
	$(NINJA) -C $(FUZZ_BUILD) fuzzers
	@status=0; \
	for src in fuzz/fuzz-*.c; do \
		name=$${src#fuzz/fuzz-}; \
		name=$${name%.c}; \
		nice fuzz/run-fuzzer.sh $(FUZZ_BUILD) $$name $(SECONDS) || \
			status=1; \
	done; \
	exit $$status

# Unit tests only, for a quick edit-compile-test loop.
unit: deps-check $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	$(MESON) test -C $(BUILD) --suite unit --print-errorlogs

# The Debian package, built from a copy of the tree in $(DEB_BUILD)/mailbell
# and checked by lintian: $(DEB_BUILD)/mailbell_VERSION_ARCH.deb.
deb: deps-deb
	scripts/build-deb.sh $(DEB_BUILD)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
