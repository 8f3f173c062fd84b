# emoti: make | make test | make check-sanitize | make bench | make weights | make install
CC      ?= cc
PYTHON  ?= python3
PREFIX  ?= /usr/local
BUILD   ?= build
# The command-line binary: ./emoti for the default tree; another BUILD (make OPENMP=1
# BUILD=build/omp, tests/test_install.sh) keeps its own inside it, never replacing ./emoti.
BIN     ?= $(if $(filter build,$(BUILD)),emoti,$(BUILD)/emoti)
FIXTURES ?= ../shared/fixtures
OPT     ?= -O2
SAN     ?=
STATIC  ?=
OPENMP  ?=

WARN     = -Wall -Wextra -Werror
, := ,
# engine/ is layered: base (errors, files), media (decoders), net (container, forward pass),
# heads, timeline (post-processing), train (training, metrics, dataset formats).
ENGINE_DIRS = $(sort $(dir $(wildcard engine/*/*.c)))
# 64-bit file offsets and inode numbers on 32-bit hosts too: without them readdir() ends early
# (EOVERFLOW) on file systems with 64-bit inodes, and files over 2 GB cannot be opened.
LFS      = -D_FILE_OFFSET_BITS=64
CPPFLAGS = -Iinclude $(patsubst %,-I%,$(ENGINE_DIRS)) -Ikernels -Icli -D_POSIX_C_SOURCE=200809L $(LFS)
# No unwind tables: C needs none (debuggers use -g's .debug_frame); they were 6% of the binary.
# A section per function and object, so that the linker drops what no command calls (GNU and
# LLVM linkers: --gc-sections; Apple's: -dead_strip).
CFLAGS   = -std=c11 $(OPT) $(WARN) $(SAN) $(if $(OPENMP),-fopenmp) -fno-asynchronous-unwind-tables \
           -ffunction-sections -fdata-sections
# 32-bit x86: SSE2 arithmetic rather than the x87's 80-bit registers, whose excess precision
# makes float results depend on register spills (a split GEMM, a tracker's IoU at its
# threshold would differ from one call); every x86 CPU since 2001 has SSE2.
X87      := $(shell $(CC) -dumpmachine 2>/dev/null | grep -q '^i[3-6]86' && echo 1)
CFLAGS   += $(if $(X87),-msse2 -mfpmath=sse)
# s390x: in ISO C mode GCC evaluates float expressions in double (FLT_EVAL_METHOD 1, to match
# glibc's float_t there); the hardware has single-precision instructions, and "fast" uses them,
# so that float results are the single-precision ones of every other host (a split GEMM equals
# one call).
S390     := $(shell $(CC) -dumpmachine 2>/dev/null | grep -q '^s390' && echo 1)
CFLAGS   += $(if $(S390),-fexcess-precision=fast)
GC_SECTIONS = $(if $(filter Darwin,$(shell uname -s)),-Wl$(,)-dead_strip,-Wl$(,)--gc-sections)
LDFLAGS  = $(SAN) $(if $(STATIC),-static) $(if $(OPENMP),-fopenmp) $(GC_SECTIONS)
LDLIBS   = -lm
# Each object's header dependencies, written by the compiler next to it and included below.
DEPFLAGS = -MMD -MP

# Installation layout; DESTDIR stages it (packaging, tests/test_install.sh).
BINDIR     = $(PREFIX)/bin
LIBDIR     = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
MANDIR     = $(PREFIX)/share/man
DATADIR    = $(PREFIX)/share/emoti
MODELDIR   = $(DATADIR)/models
VERSION   := $(shell sed -n 's/^#define EMOTI_VERSION "\(.*\)"/\1/p' include/emoti.h)

# Kernel files named after their ISA get that ISA's flags; the registry picks at run time.
ARCH    := $(shell $(CC) -dumpmachine)
ISA_SRC  = $(if $(findstring x86_64,$(ARCH)),kernels/avx2.c kernels/avx512.c,) \
           $(if $(findstring aarch64,$(ARCH)),kernels/neon.c,)
CLI_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
LIB_SRC  = $(wildcard engine/*/*.c) kernels/scalar.c kernels/registry.c \
           $(wildcard $(ISA_SRC))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TESTS    = $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c)) $(BUILD)/tests/y4m_compare \
           $(BUILD)/tests/mtcnn_nets $(BUILD)/tests/mtcnn_detect
# firmware.c links a model in: tests/firmware.sh builds it
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/examples/%,$(filter-out examples/firmware.c,$(wildcard examples/*.c)))
BENCHES  = $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

.PHONY: all test check check-openmp check-sanitize check-neon check-cross check-valgrind bench bench-ort weights install uninstall clean
NEON_PARITY ?= b0
CROSS ?= armhf s390x riscv64
CROSS_PARITY ?= b0_8_pt
CROSS_PARITY_IMAGES ?= 6
all: $(BIN) $(BUILD)/libemoti.a

# Flag stamps: files holding the effective flags, rewritten only when those change, so that
# `make && make OPENMP=1` (or another CC, OPT, SAN, STATIC, PREFIX) rebuilds what they affect.
# Written while the Makefile is read, where no target-specific value can leak into them.
# $(call stamp,FILE,TEXT) -> FILE, or FORCE (always out of date) where TEXT differs under
# make -n / -q (which only say what would be rebuilt) or where FILE cannot be written.
DRY_RUN := $(findstring n,$(firstword -$(MAKEFLAGS)))$(findstring q,$(firstword -$(MAKEFLAGS)))
stamp = $(shell t='$(subst ','\'',$2)'; \
          if [ "$$(cat $1 2>/dev/null)" = "$$t" ]; then echo $1; elif [ -n "$(DRY_RUN)" ]; then echo FORCE; \
          else mkdir -p $(dir $1) && printf '%s\n' "$$t" >$1 && echo $1 || echo FORCE; fi)
CFLAGS_STAMP  := $(call stamp,$(BUILD)/.flags-compile,$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS))
LDFLAGS_STAMP := $(call stamp,$(BUILD)/.flags-link,$(CC) $(LDFLAGS) $(LDLIBS))
DIRS_STAMP    := $(call stamp,$(BUILD)/.flags-dirs,$(PREFIX) $(BINDIR) $(LIBDIR) $(INCLUDEDIR) \
                   $(MANDIR) $(DATADIR) $(MODELDIR) $(VERSION))
# Only `make clean all` in one go finds them gone; the objects are rebuilt then anyway.
$(sort $(CFLAGS_STAMP) $(LDFLAGS_STAMP) $(DIRS_STAMP)):

$(BUILD)/%.o: %.c $(CFLAGS_STAMP) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# The freestanding core: the model (container, EfficientNet, kernels) and the heads in caller
# memory, built with -ffreestanding -DEMOTI_FREESTANDING -DEMOTI_NO_MESSAGES: no malloc, stdio,
# files, mmap, getenv, time or threads (tests/test_freestanding.sh checks its objects with nm).
FREESTANDING_SRC = engine/base/error.c engine/base/text.c engine/heads/heads.c engine/net/container.c \
                   engine/net/efficientnet.c engine/net/model.c engine/net/schedule.c \
                   engine/net/share.c engine/media/resize.c engine/media/resize_plan.c \
                   kernels/scalar.c kernels/registry.c $(wildcard $(ISA_SRC))
.PHONY: print-freestanding-src
print-freestanding-src:
	@echo $(FREESTANDING_SRC)

# Cold code is optimised for size: the command-line front end, annotation / head / metric
# bookkeeping, loading and planning (container, schedule, the forward pass's layer walk), the
# detector's candidate handling and the tracker (NMS, IoU: under 1% of a frame's time).
# Per-pixel code keeps -O2 / -O3: kernels, decoders (at -Os PNG decodes 40% slower, PPM's
# sample loop and the scene-cut histograms about 50%), the nets' loops.
COLD_OBJ = $(CLI_OBJ) $(patsubst %,$(BUILD)/engine/%.o,base/error base/infile base/outfile base/text heads/heads heads/heads_hosted media/frames media/inflate_tables media/jpeg_syntax media/png_chunks media/resize_plan media/y4m \
           net/container net/efficientnet net/model net/model_hosted net/schedule net/share detect/detect detect/mtcnn_load \
           report/draw report/plot report/rows timeline/combine timeline/temporal timeline/timeline \
           track/faces track/timelines track/tracker \
           train/annot train/dataset train/metrics train/npy train/train) $(BUILD)/kernels/registry.o
$(COLD_OBJ): OPT = -Os
# Where SIMD kernels exist, the scalar ones are the reference and the fallback of CPUs without
# them: built for size there (-1.35 KB; B0 at the scalar level ~20% slower); elsewhere (armhf, s390x,
# riscv64, Cortex-M) they are the kernels, at -O2.
$(if $(wildcard $(ISA_SRC)),$(BUILD)/kernels/scalar.o): OPT = -Os
# MTCNN's PReLU, max-pool and resampling loops: -O3 vectorises them (the GEMM is the kernels').
$(BUILD)/engine/detect/mtcnn.o $(BUILD)/engine/detect/pyramid.o: OPT = -O3
# conv()'s stacking copies runs of 3 to 64 floats: inline, not a memmove call per run (a GCC
# option; clang has no such pass to turn off).
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -qi clang && echo 1)
$(BUILD)/engine/detect/mtcnn.o: CFLAGS += $(if $(CC_IS_CLANG),,-fno-tree-loop-distribute-patterns)
$(BUILD)/kernels/avx2.o: CFLAGS += -mavx2 -mfma
$(BUILD)/kernels/avx512.o: CFLAGS += -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma
$(BUILD)/kernels/registry.o: CPPFLAGS += $(foreach f,$(wildcard $(ISA_SRC)),-DEMOTI_HAVE_$(basename $(notdir $(f))))
# The CLI looks for a model in the installed models folder when no other is found.
# The CLI sees the public header only (and its own): everything it wires is in emoti.h.
$(CLI_OBJ): CPPFLAGS = -Iinclude -Icli -D_POSIX_C_SOURCE=200809L $(LFS) -DEMOTI_MODEL_DIR='"$(MODELDIR)"'
$(CLI_OBJ): $(DIRS_STAMP)

$(BUILD)/libemoti.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

BIN_RUN = $(if $(findstring /,$(BIN)),$(BIN),./$(BIN))
# Programs compiled and linked in one step name their dependency file after themselves.
LINK_DEPS = $(CFLAGS_STAMP) $(LDFLAGS_STAMP) Makefile
$(BIN) $(BUILD)/emoti-bin: $(CLI_OBJ) $(BUILD)/libemoti.a $(LDFLAGS_STAMP)
	$(CC) $(LDFLAGS) $(filter %.o %.a,$^) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/libemoti.a $(LINK_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ $(LDFLAGS) $< $(BUILD)/libemoti.a $(LDLIBS) -o $@
$(BUILD)/examples/%: examples/%.c $(BUILD)/libemoti.a $(LINK_DEPS)
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(CFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ $(LDFLAGS) $< $(BUILD)/libemoti.a $(LDLIBS) -o $@
$(BUILD)/bench/%: bench/%.c $(BUILD)/libemoti.a $(LINK_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ $(LDFLAGS) $< $(BUILD)/libemoti.a $(LDLIBS) -o $@

-include $(wildcard $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTS:=.d) $(EXAMPLES:=.d) $(BENCHES:=.d))

# The whole suite: unit, parity against ../shared/fixtures, CLI, exporter; then the same C
# tests again under ASan+UBSan.
# make test ends with the NEON kernels under qemu (one B0 model's parity, ~2 min on 2 cores)
# and check-cross (one B0 model's parity on 2 of the 6 golden images: a B0 inference takes ~30 s
# under qemu-s390x; make check-cross alone checks all six), then the Cortex-M55 firmware under
# qemu-system-arm (check-firmware); without a cross compiler / qemu a step says SKIPPED and why
# (CI installs them).
test: check check-openmp check-sanitize
	$(MAKE) --no-print-directory check-neon NEON_OPTIONAL=1 NEON_PARITY=b0_8_pt
	$(MAKE) --no-print-directory check-cross CROSS_OPTIONAL=1 CROSS_PARITY_IMAGES=2
	$(MAKE) --no-print-directory check-firmware FIRMWARE_OPTIONAL=1

check: $(BIN) $(TESTS) $(EXAMPLES)
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) EMOTI=$(BIN_RUN) tests/run.sh

# Thread determinism (the forward pass, the detector) and the work sharing need an OpenMP build;
# test_mtcnn_detect.sh's SKIPPED (77: no numpy / skimage / tflite files) is not a failure.
check-openmp:
	$(MAKE) BUILD=$(BUILD)/omp OPENMP=1 $(BUILD)/omp/tests/test_threads $(BUILD)/omp/tests/test_share \
	  $(BUILD)/omp/tests/mtcnn_detect
	$(BUILD)/omp/tests/test_share
	FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models $(BUILD)/omp/tests/test_threads
	BUILD=$(BUILD)/omp FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) MODELS=$(BUILD)/models EMOTI=$(BIN_RUN) \
	  tests/test_mtcnn_detect.sh; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

# The NEON kernels on AArch64: cross-compiled (gcc-aarch64-linux-gnu) into $(BUILD)/neon and
# run under qemu-aarch64 (qemu-user): dispatch, test_kernels, parity of the B0 models (needs the
# models make check converts; NEON_PARITY=all adds B2). See tests/neon.sh.
check-neon:
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models MAKE="$(MAKE)" \
	  NEON_PARITY="$(NEON_PARITY)" NEON_OPTIONAL=$(NEON_OPTIONAL) tests/neon.sh

# Other POSIX hosts under qemu-user, scalar kernels: 32-bit ARM (armhf), big-endian (s390x),
# riscv64: container, heads, kernels, timeline, tracker tests and CROSS_PARITY's parity.
# See tests/cross.sh.
check-cross:
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models MAKE="$(MAKE)" CROSS="$(CROSS)" \
	  CROSS_PARITY="$(CROSS_PARITY)" CROSS_PARITY_IMAGES="$(CROSS_PARITY_IMAGES)" \
	  CROSS_OPTIONAL=$(CROSS_OPTIONAL) tests/cross.sh

# examples/firmware.c (B0 and a face linked in, the model in a static block) for the Cortex-M55
# board qemu models (mps3-an547, firmware/m55) with arm-none-eabi-gcc + newlib, and for this
# host; check-firmware runs it under qemu-system-arm and compares with the host's scalar build.
# See tests/firmware.sh.
.PHONY: firmware check-firmware
firmware: $(BUILD)/libemoti.a
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models PYTHON=$(PYTHON) MAKE="$(MAKE)" \
	  tests/firmware.sh build
check-firmware: $(BUILD)/libemoti.a
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models PYTHON=$(PYTHON) MAKE="$(MAKE)" \
	  FIRMWARE_OPTIONAL=$(FIRMWARE_OPTIONAL) tests/firmware.sh check

check-sanitize:
	$(MAKE) BUILD=$(BUILD)/san OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  $(BUILD)/san/emoti-bin $(patsubst $(BUILD)/%,$(BUILD)/san/%,$(TESTS) $(EXAMPLES))
	BUILD=$(BUILD)/san FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) EMOTI=$(BUILD)/san/emoti-bin \
	  MODELS=$(BUILD)/models SKIP_PY=1 tests/run.sh

# Every CLI command under valgrind's memcheck, on an -O0 -g build (~8 min on 2 cores).
check-valgrind:
	$(MAKE) BUILD=$(BUILD)/o0 OPT="-O0 -g" $(BUILD)/o0/emoti
	EMOTI=$(BUILD)/o0/emoti FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models PYTHON=$(PYTHON) bash tests/valgrind_cli.sh

bench: $(BIN) $(BENCHES)
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) bench/run.sh

# make bench-ort: emoti vs ONNX Runtime (onnxruntime-node, installed once into $(BUILD)/ort by npm).
bench-ort: $(BIN)
	$(MAKE) BUILD=$(BUILD)/omp OPENMP=1 $(BUILD)/omp/bench/bench_latency
	BUILD=$(BUILD) BENCH=$(BUILD)/omp/bench/bench_latency FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) \
	  bench/ort.sh

# make bench-decode: JPEG / PNG decode speed of ~1 MP images beside libjpeg-turbo and Pillow.
.PHONY: bench-decode fuzz
bench-decode: $(BUILD)/bench/bench_decode
	BUILD=$(BUILD) PYTHON=$(PYTHON) bench/decode.sh

# make bench-faces: MTCNN detection per frame beside OpenCV's Haar cascade (python3-opencv,
# opencv-data), paired, at 640x480 and 1280x720, min face 40 and 20, 1 and 2 threads each
# (bench_faces built with OpenMP), then the tracked-video
# rate of `video --faces` with the fixtures' B0 (bench/faces.py).
MTCNN_SRC ?= ../shared/models/mtcnn
.PHONY: bench-faces
bench-faces: $(BIN)
	$(MAKE) BUILD=$(BUILD)/omp OPENMP=1 $(BUILD)/omp/bench/bench_faces
	$(PYTHON) tools/export.py --mtcnn $(MTCNN_SRC) -o $(BUILD)/bench/mtcnn.emoti
	$(PYTHON) tools/export.py $(FIXTURES)/b0_8.pt -o $(BUILD)/bench/b0_8.emoti
	$(PYTHON) bench/faces.py $(BUILD)/omp/bench/bench_faces $(BUILD)/bench/mtcnn.emoti $(BUILD)/bench/faces \
	  10 $(BIN_RUN) $(BUILD)/bench/b0_8.emoti

# make fuzz: libFuzzer targets (clang + libclang-rt), seed corpora, then FUZZ_SECONDS (60)
# of fuzzing per target; fuzz/README.md. The committed corpora run in `make test`.
fuzz:
	BUILD=$(BUILD) PYTHON=$(PYTHON) fuzz/fuzz.sh all

# make weights: fetch EmotiEffLib's models (needs network) and convert them;
# make weights SRC=DIR: convert the .pt/.onnx files already in DIR.
weights:
	PYTHON=$(PYTHON) SRC=$(SRC) weights/get.sh

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the CLI, the library with its header and
# pkg-config file, the man page, the exporter (share/emoti/export.py, run by bin/emoti-export)
# and the models folder the CLI searches, with the models in weights/ (make weights) copied in.
# It copies WEIGHTS (default weights/*.emoti) and lists them in MODEL_LIST, so that make
# uninstall removes exactly those.
INSTALL_FILES = $(BINDIR)/emoti $(BINDIR)/emoti-export $(LIBDIR)/libemoti.a $(INCLUDEDIR)/emoti.h \
                $(LIBDIR)/pkgconfig/emoti.pc $(MANDIR)/man1/emoti.1 $(DATADIR)/export.py
MODEL_LIST    = $(DATADIR)/installed-models
WEIGHTS       = $(wildcard weights/*.emoti)

# Generated files for installation, with the paths and flags of this build.
subst_paths = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|g' \
  -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|g' -e 's|@DATADIR@|$(DATADIR)|g' \
  -e 's|@MODELDIR@|$(MODELDIR)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@OPENMP@|$(if $(OPENMP), -fopenmp)|g'
$(BUILD)/emoti.pc: emoti.pc.in $(DIRS_STAMP) $(LDFLAGS_STAMP)
$(BUILD)/emoti.1: docs/emoti.1.in $(DIRS_STAMP)
$(BUILD)/emoti-export: tools/emoti-export.in $(DIRS_STAMP)
$(BUILD)/emoti.pc $(BUILD)/emoti.1 $(BUILD)/emoti-export:
	@mkdir -p $(dir $@)
	$(subst_paths) $< >$@.tmp && mv $@.tmp $@

install: all $(BUILD)/emoti.pc $(BUILD)/emoti.1 $(BUILD)/emoti-export
	install -d $(addprefix $(DESTDIR),$(BINDIR) $(LIBDIR)/pkgconfig $(INCLUDEDIR) $(MANDIR)/man1 $(MODELDIR))
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/emoti
	install -m 755 $(BUILD)/emoti-export $(DESTDIR)$(BINDIR)/emoti-export
	install -m 644 $(BUILD)/libemoti.a $(DESTDIR)$(LIBDIR)/libemoti.a
	install -m 644 include/emoti.h $(DESTDIR)$(INCLUDEDIR)/emoti.h
	install -m 644 $(BUILD)/emoti.pc $(DESTDIR)$(LIBDIR)/pkgconfig/emoti.pc
	install -m 644 $(BUILD)/emoti.1 $(DESTDIR)$(MANDIR)/man1/emoti.1
	install -m 644 tools/export.py $(DESTDIR)$(DATADIR)/export.py
	$(if $(WEIGHTS),install -m 644 $(WEIGHTS) $(DESTDIR)$(MODELDIR)/,\
	  @echo "install: no weights/*.emoti ('make weights' first): $(MODELDIR) left without models")
	{ cat $(DESTDIR)$(MODEL_LIST) 2>/dev/null; printf '%s\n' $(notdir $(WEIGHTS)); } | \
	  sed '/^$$/d' | sort -u >$(DESTDIR)$(MODEL_LIST)

uninstall:
	if [ -f $(DESTDIR)$(MODEL_LIST) ]; then \
	  while read -r f; do rm -f "$(DESTDIR)$(MODELDIR)/$$f"; done <$(DESTDIR)$(MODEL_LIST); fi
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES) $(MODEL_LIST))
	rmdir $(DESTDIR)$(MODELDIR) $(DESTDIR)$(DATADIR) 2>/dev/null || true

clean:
	rm -rf $(BUILD) $(BIN)
