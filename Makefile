# mailbell: the two set-up commands on a fresh Debian 12 machine are
#   make run     install what is missing, build, start the daemon
#   make check   install what is missing, build, run every test
#                (once normally, once under ASan + UBSan)

BUILD ?= build
SAN_BUILD ?= build-san
MESON ?= meson
NINJA ?= ninja

.PHONY: all build run check unit deps deps-check clean

all: build

deps:
	@scripts/install-deps.sh run

deps-check:
	@scripts/install-deps.sh check

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

$(SAN_BUILD)/build.ninja:
	$(MESON) setup $(SAN_BUILD) -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fno-sanitize-recover=all

build: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

run: build
	@scripts/run.sh $(BUILD)

check: deps-check $(BUILD)/build.ninja $(SAN_BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	$(MESON) test -C $(BUILD) --print-errorlogs
	$(NINJA) -C $(SAN_BUILD)
	$(MESON) test -C $(SAN_BUILD) --print-errorlogs

# Unit tests only, for a quick edit-compile-test loop.
unit: deps-check $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	$(MESON) test -C $(BUILD) --suite unit --print-errorlogs

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
