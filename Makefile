# emoti: make | make test | make check-sanitize | make bench | make weights | make install
CC      ?= cc
PYTHON  ?= python3
PREFIX  ?= /usr/local
BUILD   ?= build
FIXTURES ?= ../shared/fixtures
OPT     ?= -O2
SAN     ?=
STATIC  ?=
OPENMP  ?=

WARN     = -Wall -Wextra -Werror
# engine/ is layered: base (errors, files), media (decoders), net (container, forward pass),
# heads, timeline (post-processing), train (training, metrics, dataset formats).
ENGINE_DIRS = $(sort $(dir $(wildcard engine/*/*.c)))
CPPFLAGS = -Iinclude $(patsubst %,-I%,$(ENGINE_DIRS)) -Ikernels -Icli -D_POSIX_C_SOURCE=200809L
# No unwind tables: C needs none (debuggers use -g's .debug_frame); they were 6% of the binary.
CFLAGS   = -std=c11 $(OPT) $(WARN) $(SAN) $(if $(OPENMP),-fopenmp) -fno-asynchronous-unwind-tables
LDFLAGS  = $(SAN) $(if $(STATIC),-static) $(if $(OPENMP),-fopenmp)
LDLIBS   = -lm

# Kernel files named after their ISA get that ISA's flags; the registry picks at run time.
ARCH    := $(shell $(CC) -dumpmachine)
ISA_SRC  = $(if $(findstring x86_64,$(ARCH)),kernels/avx2.c kernels/avx512.c,) \
           $(if $(findstring aarch64,$(ARCH)),kernels/neon.c,)
CLI_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
LIB_SRC  = $(wildcard engine/*/*.c) kernels/scalar.c kernels/registry.c \
           $(wildcard $(ISA_SRC))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TESTS    = $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c)) $(BUILD)/tests/y4m_compare
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
BENCHES  = $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

.PHONY: all test check check-openmp check-sanitize check-neon bench bench-ort weights install clean
NEON_PARITY ?= b0
all: emoti $(BUILD)/libemoti.a

$(BUILD)/%.o: %.c $(wildcard include/*.h engine/*/*.h kernels/*.h cli/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Cold code (the command-line front end, annotation / head / metric bookkeeping) is optimised
# for size: the binary stays under 300 KB.
COLD_OBJ = $(CLI_OBJ) $(patsubst %,$(BUILD)/engine/%.o,base/error base/outfile heads/heads net/model \
           report/plot report/rows timeline/combine timeline/temporal timeline/timeline train/annot \
           train/dataset train/metrics train/npy train/train)
$(COLD_OBJ): OPT = -Os
$(BUILD)/kernels/avx2.o: CFLAGS += -mavx2 -mfma
$(BUILD)/kernels/avx512.o: CFLAGS += -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma
$(BUILD)/kernels/registry.o: CPPFLAGS += $(foreach f,$(wildcard $(ISA_SRC)),-DEMOTI_HAVE_$(basename $(notdir $(f))))

$(BUILD)/libemoti.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

emoti: $(CLI_OBJ) $(BUILD)/libemoti.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/libemoti.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libemoti.a $(LDLIBS) -o $@
$(BUILD)/examples/%: examples/%.c $(BUILD)/libemoti.a
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libemoti.a $(LDLIBS) -o $@
$(BUILD)/bench/%: bench/%.c $(BUILD)/libemoti.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libemoti.a $(LDLIBS) -o $@

# The whole suite: unit, parity against ../shared/fixtures, CLI, exporter; then the same C
# tests again under ASan+UBSan.
# make test ends with the NEON kernels under qemu (one B0 model's parity, ~3.5 min on 2 cores);
# without the cross compiler / qemu that step says SKIPPED and why (CI installs them).
test: check check-openmp check-sanitize
	$(MAKE) --no-print-directory check-neon NEON_OPTIONAL=1 NEON_PARITY=b0_8_pt

check: emoti $(TESTS) $(EXAMPLES)
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) EMOTI=./emoti tests/run.sh

# Thread determinism and the work sharing need an OpenMP build.
check-openmp:
	$(MAKE) BUILD=$(BUILD)/omp OPENMP=1 $(BUILD)/omp/tests/test_threads $(BUILD)/omp/tests/test_share
	$(BUILD)/omp/tests/test_share
	FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models $(BUILD)/omp/tests/test_threads

# The NEON kernels on AArch64: cross-compiled (gcc-aarch64-linux-gnu) into $(BUILD)/neon and
# run under qemu-aarch64 (qemu-user): dispatch, test_kernels, parity of the B0 models (needs the
# models make check converts; NEON_PARITY=all adds B2). See tests/neon.sh.
check-neon:
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) MODELS=$(BUILD)/models MAKE="$(MAKE)" \
	  NEON_PARITY="$(NEON_PARITY)" NEON_OPTIONAL=$(NEON_OPTIONAL) tests/neon.sh

check-sanitize:
	$(MAKE) BUILD=$(BUILD)/san OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  $(BUILD)/san/emoti-bin $(patsubst $(BUILD)/%,$(BUILD)/san/%,$(TESTS) $(EXAMPLES))
	BUILD=$(BUILD)/san FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) EMOTI=$(BUILD)/san/emoti-bin \
	  MODELS=$(BUILD)/models SKIP_PY=1 tests/run.sh

$(BUILD)/emoti-bin: $(CLI_OBJ) $(BUILD)/libemoti.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench: emoti $(BENCHES)
	BUILD=$(BUILD) FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) bench/run.sh

# make bench-ort: emoti vs ONNX Runtime (onnxruntime-node, installed once into $(BUILD)/ort by npm).
bench-ort: emoti
	$(MAKE) BUILD=$(BUILD)/omp OPENMP=1 $(BUILD)/omp/bench/bench_latency
	BUILD=$(BUILD) BENCH=$(BUILD)/omp/bench/bench_latency FIXTURES=$(FIXTURES) PYTHON=$(PYTHON) \
	  bench/ort.sh

# make bench-decode: JPEG / PNG decode speed of ~1 MP images beside libjpeg-turbo and Pillow.
.PHONY: bench-decode fuzz
bench-decode: $(BUILD)/bench/bench_decode
	BUILD=$(BUILD) PYTHON=$(PYTHON) bench/decode.sh

# make fuzz: libFuzzer targets (clang + libclang-rt), seed corpora, then FUZZ_SECONDS (60)
# of fuzzing per target; fuzz/README.md. The committed corpora run in `make test`.
fuzz:
	BUILD=$(BUILD) PYTHON=$(PYTHON) fuzz/fuzz.sh all

# make weights: fetch EmotiEffLib's models (needs network) and convert them;
# make weights SRC=DIR: convert the .pt/.onnx files already in DIR.
weights:
	PYTHON=$(PYTHON) SRC=$(SRC) weights/get.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 emoti $(DESTDIR)$(PREFIX)/bin/emoti
	install -m 644 $(BUILD)/libemoti.a $(DESTDIR)$(PREFIX)/lib/libemoti.a
	install -m 644 include/emoti.h $(DESTDIR)$(PREFIX)/include/emoti.h

clean:
	rm -rf $(BUILD) emoti
