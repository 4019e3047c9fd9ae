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

.PHONY: all deps kmod user user-x86_64 user-aarch64 companion cc cc-test test unit-test demo \
	fuzz check-debug checkpatch clean distclean deb
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

CONFIGURE_X86_64 = cmake -S . -B $(BUILD)/x86_64 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DHETMIG_CACHE=$(HETMIG_CACHE) >/dev/null

user-x86_64:
	$(CONFIGURE_X86_64)
	cmake --build $(BUILD)/x86_64 -j $(JOBS)

# The x86_64 companion alone, in the same build (debian/rules).
companion:
	$(CONFIGURE_X86_64)
	cmake --build $(BUILD)/x86_64 -j $(JOBS) --target hetmig

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

# --- make install, make man, make dkms-source --------------------------------
# install copies what `make all` built (it builds nothing but the man pages)
# under DESTDIR and PREFIX; Documentation/user-guide.md, "Installing".
# hetmig goes to bin, not sbin: its users are root and ordinary users alike
# (inspect, freeze, check, and recv/restore of their own processes), and it
# is looked up on PATH by hetmig-cc (check) and by migratable programs
# (hetmig_migrate runs `hetmig send`), where Debian's PATH for users has no
# sbin. The systemd unit and modules-load.d entry go under PREFIX/lib, where
# systemd looks for both when PREFIX is /usr/local or /usr.
.PHONY: install uninstall man dkms-source installable
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/hetmig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
DKMSDIR ?= /usr/src
# hetmig-cc and what it needs at run time, laid out as in the tree
# (tools/hetmig-cc finds them from its own place).
PKGLIBDIR = $(PREFIX)/lib/hetmig
# The companion of build/INSTALL_ARCH (aarch64: for an arm64 root in DESTDIR).
INSTALL_ARCH ?= $(shell uname -m)
INSTALL_HETMIG := $(BUILD)/$(INSTALL_ARCH)/user/hetmig
# The man pages come from the host's build and the tree's hetmig-cc.
MAN_HETMIG := $(BUILD)/x86_64/user/hetmig
MAN_PAGES := $(BUILD)/man/hetmig.8 $(BUILD)/man/hetmig-cc.1
# Releases: the companion's (and hetmig-cc's) from CMakeLists.txt, the
# module's, which names its DKMS source, from kmod/hetmig.h.
USER_RELEASE := $(shell sed -n 's/^project.hetmig VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
KMOD_RELEASE := $(shell sed -n 's/^.define HETMIG_MODULE_VERSION "\(.*\)"$$/\1/p' kmod/hetmig.h)
ARM64_MUSL := $(HETMIG_CACHE)/sysroot-arm64/usr
CC_PY := $(filter-out tools/hetmig_cc/test_%,$(wildcard tools/hetmig_cc/*.py))
PLUGINS := $(BUILD)/plugin/x86_64/hetmig_plugin.so $(BUILD)/plugin/aarch64/hetmig_plugin.so
PLUGIN_SRC := tools/hetmig_cc/plugin/hetmig_plugin.cc
DOCS := $(wildcard Documentation/*.md)

# A built file install needs, or "run make all first".
need = test -e $(1) || { echo "no $(1): run 'make all' first" >&2; exit 1; }

installable:
	@$(call need,$(INSTALL_HETMIG))
	@for p in $(PLUGINS); do $(call need,$$p); \
		test $$p -nt $(PLUGIN_SRC) || { echo "$$p is older than $(PLUGIN_SRC):" \
			"run 'make all' (or 'make cc') first" >&2; exit 1; }; done
	@test -d $(ARM64_MUSL)/lib/aarch64-linux-musl || \
		{ echo "no aarch64 musl in $(ARM64_MUSL): run 'make deps' first" >&2; exit 1; }

man: $(MAN_PAGES)

# help2man: what --help and --version print, the SYNOPSIS from the usages
# the programs print (tools/man/), the rest from Documentation/man/*.h2m.
HELP2MAN = @command -v help2man >/dev/null || \
	{ echo "make man needs help2man: make deps" >&2; exit 1; }

$(BUILD)/man/hetmig.8: $(wildcard $(MAN_HETMIG)) Documentation/man/hetmig.h2m \
		tools/man/usages tools/man/synopsis.sed
	@$(call need,$(MAN_HETMIG))
	$(HELP2MAN)
	mkdir -p $(@D)
	tools/man/usages $(MAN_HETMIG) > $(@D)/hetmig.usages
	{ echo '[SYNOPSIS]'; sed -f tools/man/synopsis.sed $(@D)/hetmig.usages; } \
		> $(@D)/hetmig.synopsis.h2m
	help2man --no-info --include=Documentation/man/hetmig.h2m \
		--include=$(@D)/hetmig.synopsis.h2m --output=$@.tmp $(MAN_HETMIG)
	mv $@.tmp $@

$(BUILD)/man/hetmig-cc.1: tools/hetmig-cc Documentation/man/hetmig-cc.h2m \
		tools/man/cc-usages tools/man/synopsis.sed
	$(HELP2MAN)
	mkdir -p $(@D)
	tools/man/cc-usages tools/hetmig-cc > $(@D)/hetmig-cc.usages
	{ echo '[SYNOPSIS]'; sed -f tools/man/synopsis.sed $(@D)/hetmig-cc.usages; } \
		> $(@D)/hetmig-cc.synopsis.h2m
	help2man --no-info --version-string="hetmig-cc $(USER_RELEASE)" \
		--include=Documentation/man/hetmig-cc.h2m \
		--include=$(@D)/hetmig-cc.synopsis.h2m --output=$@.tmp tools/hetmig-cc
	mv $@.tmp $@

install: installable man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR)/linux \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(MODULESLOADDIR)
	install -m 0755 $(INSTALL_HETMIG) $(DESTDIR)$(BINDIR)/hetmig
	install -m 0644 uapi/linux/hetmig.h $(DESTDIR)$(INCLUDEDIR)/linux/hetmig.h
	install -m 0644 $(BUILD)/man/hetmig.8 $(DESTDIR)$(MANDIR)/man8/hetmig.8
	install -m 0644 $(BUILD)/man/hetmig-cc.1 $(DESTDIR)$(MANDIR)/man1/hetmig-cc.1
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 tools/completion/hetmig.bash $(DESTDIR)$(BASHCOMPDIR)/hetmig
	install -m 0644 tools/completion/hetmig-cc.bash $(DESTDIR)$(BASHCOMPDIR)/hetmig-cc
	sed 's|@BINDIR@|$(BINDIR)|g' tools/systemd/hetmig-recv.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/hetmig-recv.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/hetmig-recv.service
	install -m 0644 tools/systemd/hetmig.modules-load.conf \
		$(DESTDIR)$(MODULESLOADDIR)/hetmig.conf
	@# hetmig-cc: PKGLIBDIR mirrors the tree (tools/, user/runtime) and holds
	@# what a tree keeps in build/plugin and .cache: the built plugins (not
	@# older than their source, or hetmig-cc would build them again there)
	@# and the aarch64 musl. The file "installed" tells hetmig-cc so.
	install -d $(DESTDIR)$(PKGLIBDIR)/tools/hetmig_cc/plugin \
		$(DESTDIR)$(PKGLIBDIR)/user/runtime \
		$(DESTDIR)$(PKGLIBDIR)/plugin/x86_64 $(DESTDIR)$(PKGLIBDIR)/plugin/aarch64 \
		$(DESTDIR)$(PKGLIBDIR)/sysroot-arm64/usr
	install -m 0755 tools/hetmig-cc $(DESTDIR)$(PKGLIBDIR)/tools/hetmig-cc
	install -m 0644 $(CC_PY) $(DESTDIR)$(PKGLIBDIR)/tools/hetmig_cc/
	install -p -m 0644 $(PLUGIN_SRC) $(DESTDIR)$(PKGLIBDIR)/$(PLUGIN_SRC)
	install -m 0644 user/runtime/*.c user/runtime/*.h $(DESTDIR)$(PKGLIBDIR)/user/runtime/
	for isa in x86_64 aarch64; do install -p -m 0755 $(BUILD)/plugin/$$isa/hetmig_plugin.so \
		$(DESTDIR)$(PKGLIBDIR)/plugin/$$isa/hetmig_plugin.so || exit 1; done
	rm -rf $(DESTDIR)$(PKGLIBDIR)/sysroot-arm64/usr/include \
		$(DESTDIR)$(PKGLIBDIR)/sysroot-arm64/usr/lib
	mkdir -p $(DESTDIR)$(PKGLIBDIR)/sysroot-arm64/usr/include \
		$(DESTDIR)$(PKGLIBDIR)/sysroot-arm64/usr/lib
	cp -R $(ARM64_MUSL)/include/aarch64-linux-musl \
		$(DESTDIR)$(PKGLIBDIR)/sysroot-arm64/usr/include/
	cp -R $(ARM64_MUSL)/lib/aarch64-linux-musl $(DESTDIR)$(PKGLIBDIR)/sysroot-arm64/usr/lib/
	chmod -R u=rwX,go=rX $(DESTDIR)$(PKGLIBDIR)/sysroot-arm64
	echo "hetmig-cc's installed layout (Makefile, install; tools/hetmig-cc)" \
		> $(DESTDIR)$(PKGLIBDIR)/installed
	chmod 0644 $(DESTDIR)$(PKGLIBDIR)/installed
	ln -sfr $(DESTDIR)$(PKGLIBDIR)/tools/hetmig-cc $(DESTDIR)$(BINDIR)/hetmig-cc

# Removes what install put there; PKGLIBDIR only if it is hetmig-cc's.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hetmig $(DESTDIR)$(BINDIR)/hetmig-cc \
		$(DESTDIR)$(INCLUDEDIR)/linux/hetmig.h \
		$(DESTDIR)$(MANDIR)/man8/hetmig.8 $(DESTDIR)$(MANDIR)/man1/hetmig-cc.1 \
		$(DESTDIR)$(BASHCOMPDIR)/hetmig $(DESTDIR)$(BASHCOMPDIR)/hetmig-cc \
		$(DESTDIR)$(SYSTEMDUNITDIR)/hetmig-recv.service \
		$(DESTDIR)$(MODULESLOADDIR)/hetmig.conf \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	test ! -f $(DESTDIR)$(PKGLIBDIR)/installed || rm -rf $(DESTDIR)$(PKGLIBDIR)

# The module's source for DKMS in DKMSDIR/hetmig-KMOD_RELEASE, laid out as in
# the tree: kmod/, and uapi/linux/hetmig.h where kmod/Kbuild looks (../uapi),
# dkms.conf with its version filled in, and its PRE_BUILD check. Then
# `dkms install hetmig/KMOD_RELEASE` builds and installs hetmig.ko for the
# running kernel (and again for each new one).
DKMS_SRC = $(DESTDIR)$(DKMSDIR)/hetmig-$(KMOD_RELEASE)
dkms-source:
	@test -n "$(KMOD_RELEASE)" || \
		{ echo "no HETMIG_MODULE_VERSION in kmod/hetmig.h" >&2; exit 1; }
	install -d $(DKMS_SRC)/kmod $(DKMS_SRC)/uapi/linux $(DKMS_SRC)/tools/dkms
	install -m 0644 kmod/*.c kmod/*.h kmod/Kbuild kmod/Makefile $(DKMS_SRC)/kmod/
	install -m 0644 uapi/linux/hetmig.h $(DKMS_SRC)/uapi/linux/hetmig.h
	install -m 0755 tools/dkms/check-headers $(DKMS_SRC)/tools/dkms/check-headers
	sed '/^PACKAGE_VERSION=/s/@VERSION@/$(KMOD_RELEASE)/' dkms.conf > $(DKMS_SRC)/dkms.conf
	chmod 0644 $(DKMS_SRC)/dkms.conf

# --- make deb ------------------------------------------------------------------
# The Debian packages hetmig, hetmig-dkms and hetmig-cc in .. (debian/;
# Documentation/user-guide.md, "Debian packages"), reusing build/; the
# aarch64 musl from the cache when `make deps` put it there (build profile
# pkg.hetmig.cache), else from musl-dev:arm64.
deb:
	dpkg-buildpackage -us -uc -b \
		$(if $(wildcard $(ARM64_MUSL)/lib/aarch64-linux-musl),-Ppkg.hetmig.cache)
