# SPDX-License-Identifier: GPL-2.0
#
# The one entry point: `make deps`, `make` (everything, both architectures),
# `make test` (every test), `make demo` (the main job on two emulated hosts).
# See README.md.

TOP := $(CURDIR)
export HETMIG_CACHE ?= $(TOP)/.cache
BUILD := $(TOP)/build
JOBS ?= $(shell nproc)

# Each kernel architecture: Debian name, kbuild ARCH and cross prefix.
# A build is ARCH (Debian 12's 6.1) or ARCH-6.12 (tools/deps, "The 6.12
# series"); its kernel is in $(HETMIG_CACHE)/BUILD.
KARCH_amd64 := x86
KARCH_arm64 := arm64
CROSS_amd64 :=
CROSS_arm64 := aarch64-linux-gnu-
KBUILDS := amd64 arm64 amd64-6.12 arm64-6.12
kbuild_arch = $(firstword $(subst -, ,$(1)))

.PHONY: all deps kmod user user-x86_64 user-aarch64 cc cc-test test unit-test demo fuzz \
	check-debug checkpatch clean distclean
all: kmod user cc

deps:
	tools/deps

# --- hetmig.ko, once per kernel architecture ------------------------------
# kbuild writes its objects beside the sources, so each architecture builds
# in its own copy of kmod/ and uapi/.
KMOD_SRC := $(wildcard kmod/*.c kmod/*.h kmod/Kbuild) uapi/linux/hetmig.h

kmod: $(foreach b,$(KBUILDS),$(BUILD)/kmod-$(b)/kmod/hetmig.ko)

$(BUILD)/kmod-%/kmod/hetmig.ko: $(KMOD_SRC)
	@test -f $(HETMIG_CACHE)/$*/abi || { echo "run 'make deps' first" >&2; exit 1; }
	mkdir -p $(BUILD)/kmod-$*/kmod $(BUILD)/kmod-$*/uapi/linux
	cp -p kmod/*.c kmod/*.h kmod/Kbuild $(BUILD)/kmod-$*/kmod/
	cp -p uapi/linux/hetmig.h $(BUILD)/kmod-$*/uapi/linux/
	$(MAKE) -C $(HETMIG_CACHE)/$*/usr/src/linux-headers-$$(cat $(HETMIG_CACHE)/$*/abi)-$(call kbuild_arch,$*) \
		ARCH=$(KARCH_$(call kbuild_arch,$*)) CROSS_COMPILE=$(CROSS_$(call kbuild_arch,$*)) \
		M=$(BUILD)/kmod-$*/kmod W=1 modules

# --- the companion, unit tests, selftests and benchmarks (CMake) -----------
user: user-x86_64 user-aarch64

user-x86_64:
	cmake -S . -B $(BUILD)/x86_64 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DHETMIG_CACHE=$(HETMIG_CACHE) >/dev/null
	cmake --build $(BUILD)/x86_64 -j $(JOBS)

user-aarch64:
	cmake -S . -B $(BUILD)/aarch64 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DHETMIG_CACHE=$(HETMIG_CACHE) \
		-DCMAKE_TOOLCHAIN_FILE=$(TOP)/cmake/aarch64-linux-gnu.cmake >/dev/null
	cmake --build $(BUILD)/aarch64 -j $(JOBS)

# --- hetmig-cc: runs in place (it compiles the runtime from user/runtime for
# every program); staged as build/bin/hetmig-cc for PATH, with its GCC plugin
# built for both compilers in build/plugin ----------------------------------
cc:
	@command -v python3 >/dev/null || { echo "hetmig-cc needs python3: make deps" >&2; exit 1; }
	mkdir -p $(BUILD)/bin
	ln -sf $(TOP)/tools/hetmig-cc $(BUILD)/bin/hetmig-cc
	tools/hetmig-cc --build-plugin

cc-test: cc
	tools/test/cc-test

# --- tests ----------------------------------------------------------------
test: deps all
	tools/test/run-all

unit-test: user-x86_64
	ctest --test-dir $(BUILD)/x86_64 --output-on-failure

demo: deps all cc
	tools/demo
	@echo '== a hetmig-cc program moved mid-recursion from an x86_64 to an aarch64 host =='
	tools/lab selftests/corpus/recurse.c --hops x86_64,aarch64 --every 2000 -- 3

# The netlink fuzzer at 1,500,000 messages per guest (1,020,000 on the
# debug kernel) with a new seed each run (x86_64, aarch64, the x86_64 debug
# kernel); FUZZ_ARGS="--seed S" replays one (Documentation/testing.md).
# Not part of `make test`.
fuzz: deps all
	tools/test/fuzz $(FUZZ_ARGS)

# The suite under a KASAN/kmemleak/lockdep/UBSAN kernel; builds that kernel
# once per machine (Documentation/testing.md). Not part of `make test`.
check-debug: deps all
	tools/debug-kernel/check

checkpatch:
	$(HETMIG_CACHE)/linux-source/scripts/checkpatch.pl --no-tree --strict -q \
		-f kmod/*.c kmod/*.h uapi/linux/hetmig.h

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(HETMIG_CACHE)
