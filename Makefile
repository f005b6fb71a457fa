# SPDX-License-Identifier: GPL-2.0
#
# User-facing entry points.  Kbuild reads ./Kbuild, not this file, so this
# Makefile never gets in the way of `make -C <kdir> M=$PWD`.
#
#   make              build our modules out of tree against Debian's 6.12
#                     headers (mdev.ko, vfio_mdev.ko, Module.symvers at the
#                     top, the samples in samples/vfio-mdev/) and the
#                     kselftests
#   make deps         install missing Debian packages (cheap when none is)
#   make debug-kernel build (or incrementally rebuild) the debug kernel
#   make check        everything above, then the test suites in a debug VM
#                     and in a stock VM; non-zero on any failure or any
#                     kernel report (KASAN, lockdep, WARN, kmemleak ...)
#   make check-e2e-debug  not part of check (time): the nested-guest
#                     end-to-end suite (40-mtty-e2e) on the debug kernel
#   make check-migration  not part of check (27 minutes): QEMU 10 live-
#                     migrates a guest with its mtty device, then SIGKILL
#                     restarts (42-qemu10-migration; stock VM: container,
#                     20 restarts; debug VM: iommufd, 3 restarts)
#   make demo         build everything, boot the stock kernel and walk
#                     through an mtty device; fails on any missing piece
#                     or skipped step
#   make mutants      not part of check: apply each deliberate bug of
#                     tools/testing/mutants/list to a copy of HEAD and run
#                     the suites that must catch it (MUTANTS="a b" for
#                     only those); non-zero if one survives
#   make bench        benchmark our core against Debian's mdev.ko in a stock
#                     VM (tools/testing/mdev/bench/run.sh; BENCH_ARGS=...)
#   make patches      the series to post upstream, against the pristine 6.12
#                     source (scripts/mkpatches.sh), in patches/ or
#                     PATCHES_DIR=<dir>
#   make clean        remove build products (not the kernel cache)
#   make clean-cache  remove the debug kernel and initramfs cache
#
# Variables: MDEV_CACHE (default /var/cache/mdev), KREL (stock kernel
# release; default: the one scripts/install-deps.sh chose, kept in .krel;
# the stock VM of check, demo, bench and mutants boots this one),
# MDEV_SUITES (only run these suites, e.g. "00-smoke 10-kunit"),
# CHECK_KERNELS (default "host debug stock"; host = the builds that need
# no VM, tools/testing/host/suites/).

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VM := $(TOP)/tools/testing/vm
SELFTESTS := $(TOP)/tools/testing/selftests/mdev
export MDEV_CACHE ?= /var/cache/mdev
CHECK_KERNELS ?= host debug stock

# The stock release: $(KREL) if given, else what deps recorded.
krel = $${KREL:-$$(cat $(TOP)/.krel)}
# Shell: set rel to that release, or stop loudly when it is not installed.
# Every recipe that boots a VM hands it on as MDEV_KREL, the variable
# run-vm.sh reads (without it run-vm.sh boots the newest installed 6.12,
# not necessarily the kernel our modules were built against).
krel_check = rel=$(krel); \
	if [ -z "$$rel" ] || [ ! -r "/boot/vmlinuz-$$rel" ] || \
	   [ ! -f "/lib/modules/$$rel/build/Makefile" ]; then \
		echo "make: ERROR: stock kernel release '$$rel' (KREL) is not installed:" \
			"no /boot/vmlinuz-$$rel or /lib/modules/$$rel/build;" \
			"installed: $$(ls /boot | sed -n 's/^vmlinuz-//p' | tr '\n' ' ')" >&2; \
		exit 1; \
	fi
# Shell: the release a VM recipe boots, said once before it starts.
krel_say = echo "  VM      stock kernel $$rel (/boot/vmlinuz-$$rel, MDEV_KREL=$$rel)"

# A piece is built once its source exists (the tree is still being filled).
have = $(if $(wildcard $(TOP)/$(1)),$(2)=m)
MODULE_CONFIG := CONFIG_VFIO_MDEV=m \
	$(call have,vfio_mdev.c,CONFIG_VFIO_MDEV_DEVICE) \
	$(call have,tests/mdev_classic_test.c,CONFIG_MDEV_CLASSIC_TEST) \
	$(call have,samples/vfio-mdev/mtty.c,CONFIG_SAMPLE_VFIO_MDEV_MTTY) \
	$(call have,samples/vfio-mdev/mdpy.c,CONFIG_SAMPLE_VFIO_MDEV_MDPY) \
	$(call have,samples/vfio-mdev/mdpy-fb.c,CONFIG_SAMPLE_VFIO_MDEV_MDPY_FB) \
	$(call have,samples/vfio-mdev/mbochs.c,CONFIG_SAMPLE_VFIO_MDEV_MBOCHS)

.PHONY: all deps ksrc modules selftests debug-kernel check check-e2e-debug check-migration demo bench mutants clean clean-cache help

all: modules selftests

help:
	@sed -n '3,/^$$/p' $(TOP)/Makefile | sed 's/^# \{0,1\}//'

deps:
	@$(VM)/deps.sh >/dev/null

# The KUnit module only where the kernel has KUnit (Debian's does not).
modules: deps
	@set -e; $(krel_check); kdir=/lib/modules/$$rel/build; \
	kunit=; grep -qE '^CONFIG_KUNIT=(y|m)' $$kdir/.config 2>/dev/null && \
		kunit=CONFIG_MDEV_KUNIT_TEST=m; \
	echo "  MAKE    modules against $$kdir"; \
	$(MAKE) -C $$kdir M=$(TOP) NOSTDINC_FLAGS=-I$(TOP)/include \
		$(MODULE_CONFIG) $$kunit modules

# The pristine 6.12 source, whose kselftest harness and uAPI headers the
# kselftests use in place; extracted again when the package changes.
KSRC := $(MDEV_CACHE)/ref/linux-source-6.12

ksrc: deps
	@set -e; ver=$$(dpkg-query -W -f='$${Version}' linux-source-6.12); \
	if [ "$$(cat $(KSRC)/.mdev-version 2>/dev/null)" != "$$ver" ]; then \
		echo "  EXTRACT linux-source-6.12 $$ver into $(KSRC)"; \
		rm -rf $(KSRC) $(KSRC).tmp; mkdir -p $(KSRC).tmp; \
		tar -xf /usr/src/linux-source-6.12.tar.xz -C $(KSRC).tmp \
			--strip-components=1; \
		echo "$$ver" >$(KSRC).tmp/.mdev-version; \
		mv $(KSRC).tmp $(KSRC); \
	fi

selftests: ksrc
	@if [ -f $(SELFTESTS)/Makefile ]; then \
		echo "  MAKE    kselftests in $(SELFTESTS)"; \
		$(MAKE) -C $(SELFTESTS) KSRC=$(KSRC); \
	fi

debug-kernel: deps
	@$(VM)/build-debug-kernel.sh >/dev/null

check: all debug-kernel
	@$(krel_check); $(krel_say); \
	KREL=$$rel MDEV_KREL=$$rel $(VM)/check.sh $(CHECK_KERNELS)

# The end-to-end guest on the debug kernel, which make check leaves out for
# time (see tools/testing/vm/suites/40-mtty-e2e.sh).
check-e2e-debug: all debug-kernel
	@$(krel_check); $(krel_say); \
	KREL=$$rel MDEV_KREL=$$rel MDEV_E2E_DEBUG=1 MDEV_SUITES=40-mtty-e2e \
		$(VM)/check.sh debug

# QEMU 10 migrating a guest with its mtty device, then SIGKILL restarts
# (tools/testing/vm/suites/42-qemu10-migration.sh): 27 minutes, so not in
# make check.  Both kernels, side by side: the stock one through the type1
# container, 20 restarts; the debug one through iommufd and without
# enable-migration=on (it has IOMMUFD_DRIVER), 3 restarts.
check-migration: all debug-kernel
	@$(krel_check); $(krel_say); \
	KREL=$$rel MDEV_KREL=$$rel MDEV_MIGRATION=1 \
		MDEV_SUITES=42-qemu10-migration $(VM)/check.sh debug stock

# The demo runs the kselftest mtty_uapi too: build everything it shows.
demo: all
	@$(krel_check); $(krel_say); \
	KREL=$$rel MDEV_KREL=$$rel $(VM)/run-vm.sh --kernel stock --timeout 600 \
		-- tools/testing/vm/demo.sh

# Measures untraced (repetitions in A B B A order, a scale run to 100,000
# devices); BENCH_ARGS=--trace is the function_graph breakdown, a boot of
# its own; BENCH_ARGS="--rev HEAD" measures the committed tree.
bench: modules
	@$(krel_check); $(krel_say); \
	KREL=$$rel MDEV_KREL=$$rel $(TOP)/tools/testing/mdev/bench/run.sh --no-build-top $(BENCH_ARGS)

# Builds and boots its own copies of HEAD; MDEV_CPU_LOCK=<file> takes a
# lock around each build and VM run.
mutants: deps
	@$(krel_check); $(krel_say); \
	KREL=$$rel MDEV_KREL=$$rel $(TOP)/tools/testing/mutants/run.sh $(MUTANTS)

.PHONY: patches
patches: ksrc
	@$(TOP)/scripts/mkpatches.sh $(or $(PATCHES_DIR),$(TOP)/patches)

clean:
	@rel=$$(cat $(TOP)/.krel 2>/dev/null || true); \
	if [ -n "$$rel" ] && [ -d /lib/modules/$$rel/build ]; then \
		$(MAKE) -s -C /lib/modules/$$rel/build M=$(TOP) clean; \
	fi
	@find $(TOP) \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name 'modules.order' -o -name 'Module.symvers' \) \
		-not -path '$(TOP)/.git/*' -delete
	@if [ -f $(SELFTESTS)/Makefile ]; then $(MAKE) -s -C $(SELFTESTS) clean; fi
	@rm -rf $(TOP)/.check

clean-cache:
	rm -rf $(MDEV_CACHE)/debug $(MDEV_CACHE)/initramfs
