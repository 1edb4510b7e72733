# Strata build entry points. Every target that compiles depends on `setup`, which installs
# the system packages a fresh Debian machine lacks (and does nothing when they are present).
# Open MPI (libopenmpi-dev, openmpi-bin) serves StrataDistributed, dltrain under mpirun and the 2-rank tests.
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config zlib1g-dev libopenmpi-dev openmpi-bin
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
SWIFT ?= swift

.PHONY: setup build test fuzz demo docs check-layers bench bench-e2e bench-distributed clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Docs/Architecture.md's layer table, enforced where the compiler cannot (the layers share the Strata target):
# no folder of Sources/Strata names a type of a layer it does not depend on (Scripts/check-layers.sh), and the
# check itself is run first on two fixtures, one clean and one with an upward use of each kind, so it cannot pass
# by checking nothing. Each system library is imported by exactly one file: OpenBLAS by the kernel layer's BLAS
# wrapper, zlib by the data layer's gzip reader. The C kernels (CStrataKernels) are imported only by the kernel layer.
LAYER_FIXTURES := Scripts/check-layers-fixtures
check-layers:
	@Scripts/check-layers.sh $(LAYER_FIXTURES)/clean > /dev/null || { echo "check-layers: the clean fixture fails"; exit 1; }
	@out=$$(Scripts/check-layers.sh $(LAYER_FIXTURES)/upward) && { echo "check-layers: the upward fixture passed"; exit 1; }; \
	for expected in "Kernels uses Tensor" "IO uses Module" "Loose.swift is not in a layer folder"; do \
	  echo "$$out" | grep -q "$$expected" || { echo "check-layers: the upward fixture did not report '$$expected'"; exit 1; }; \
	done
	@Scripts/check-layers.sh Sources/Strata
	@bad=$$(grep -rln --include='*.swift' '^import COpenBLAS' Sources Tests | grep -v '^Sources/Strata/Kernels/BLAS.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: COpenBLAS imported outside Kernels/BLAS.swift: $$bad"; exit 1; fi
	@bad=$$(grep -rln --include='*.swift' '^import CZlib' Sources Tests | grep -v '^Sources/Strata/Data/Gzip.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: CZlib imported outside Data/Gzip.swift: $$bad"; exit 1; fi
	@bad=$$(grep -rln --include='*.swift' '^import CStrataKernels' Sources Tests | grep -v '^Sources/Strata/Kernels/[^/]*\.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: CStrataKernels imported outside Sources/Strata/Kernels: $$bad"; exit 1; fi
	@# Optimised builds drop precondition's message; the libraries use require(_:_:) or fatalError, which always print it.
	@bad=$$(grep -rln --include='*.swift' -E '\bprecondition(Failure)?\(' Sources/Strata Sources/StrataTraining || true); \
	if [ -n "$$bad" ]; then echo "check-layers: use require(_:_:) or fatalError instead of precondition in: $$bad"; exit 1; fi

build: setup check-layers
	$(SWIFT) build -c release

# The whole suite once (on the widest level this CPU runs), then the Float32 golden and kernel suites again on
# every level with STRATA_ISA, reusing the test binary; levels this CPU lacks are reported as skipped. `swift
# build` first, because it builds the snippets (Snippets/) and `swift test` does not: ExamplesTests runs them.
# Last, `make docs`: the documentation must build without a warning and document every public symbol.
ISA_SUITES := Golden|PoolingTests|VectorMathTests|GradientKernelTests|KernelAgreementTests|KernelISATests|ConvolutionKernelTests|BatchNormKernelTests|ConvolutionTests|NormalizationTests|ActivationTests|ArithmeticTests|ElementwiseTests|ErfTests|SoftmaxTests|SoftmaxKernelTests|AttentionTests|GroupNormKernelTests|RecurrentKernelTests|RecurrentSplitTests|RecurrentTests
test: setup check-layers
	$(SWIFT) build -c release
	$(SWIFT) test -c release
	@best=$$("$$($(SWIFT) build -c release --show-bin-path)/dlbench" --info | sed -n 's/.*widest on this CPU: \([a-z0-9]*\).*/\1/p'); \
	ran=""; skipped=""; \
	for isa in baseline avx2 avx512; do \
	  case "$$best:$$isa" in \
	    baseline:avx2|baseline:avx512|avx2:avx512) \
	      echo "make test: STRATA_ISA=$$isa skipped: this CPU's widest level is $$best"; skipped="$$skipped $$isa"; continue;; \
	  esac; \
	  echo "== make test: golden and kernel suites with STRATA_ISA=$$isa"; \
	  STRATA_ISA=$$isa $(SWIFT) test -c release --skip-build --filter '$(ISA_SUITES)' || exit 1; \
	  ran="$$ran $$isa"; \
	done; \
	echo "make test: instruction-set levels run:$$ran; skipped:$${skipped:- none}"
	@$(MAKE) --no-print-directory fuzz SECONDS=$(FUZZ_TEST_SECONDS) FUZZ_BUILT=1
	@$(MAKE) --no-print-directory docs

# The fuzz harness (Tests/StrataFuzz) with the release builds: first its hang oracle on two shell children (one
# printing progress, one gone quiet: the first must pass and the second be a hang), then every case kept in Tests/FuzzRegressions
# (each a crash or silent accept a run once found) replayed through the library and dltrain, then SECONDS of
# seeded mutation and hostile cases over checkpoints, safetensors, IDX (raw and gzipped), CIFAR and PNM files,
# model specs and CLI numbers.
# Any crash, hang, silent accept or unnamed error fails it; each finding's files are kept under .build/fuzz/findings
# (replay one with `StrataFuzz replay DIR`). `make test` runs it for FUZZ_TEST_SECONDS on the binaries its
# `swift test -c release` built (FUZZ_BUILT=1 skips the build, which would otherwise redo them without testability).
# FUZZ_TARGETS: the input kinds to run (StrataFuzz --targets); `all`, the default, adds the spec and cli targets
# (model specs, CLI numbers and environment variables) to the file kinds.
SECONDS ?= 600
FUZZ_SEED ?= 13
FUZZ_TEST_SECONDS ?= 60
FUZZ_TARGETS ?= all
fuzz: setup
	@[ -n "$(FUZZ_BUILT)" ] || { $(SWIFT) build -c release --product StrataFuzz && $(SWIFT) build -c release --product dltrain; }
	@bin="$$($(SWIFT) build -c release --show-bin-path)"; \
	"$$bin/StrataFuzz" selfcheck || exit 1; \
	"$$bin/StrataFuzz" replay Tests/FuzzRegressions --out .build/fuzz-replay || exit 1; \
	targets="$(FUZZ_TARGETS)"; [ "$$targets" = all ] && targets=""; \
	"$$bin/StrataFuzz" --seconds $(SECONDS) --seed $(FUZZ_SEED) --out .build/fuzz $${targets:+--targets $$targets}

# The DocC reference and articles of Strata and StrataTraining (Sources/*/*.docc, the code from Snippets/), as one
# static site in .build/docs: serve it with `python3 -m http.server -d .build/docs` and open /documentation/strata.
# Warnings are errors (an unresolved link, a misnamed parameter), and Scripts/check-docs.py then fails on any
# public symbol without a summary and on any top-level symbol the landing pages leave to DocC's automatic groups.
DOCS_DIR := .build/docs
DOCS_TARGETS := Strata StrataTraining
docs: setup
	@rm -rf $(DOCS_DIR)
	$(SWIFT) package --allow-writing-to-directory $(DOCS_DIR) generate-documentation \
	  $(foreach t,$(DOCS_TARGETS),--target $(t)) --enable-experimental-combined-documentation \
	  --experimental-skip-synthesized-symbols --enable-inherited-docs --warnings-as-errors \
	  --experimental-documentation-coverage --coverage-summary-level brief \
	  --transform-for-static-hosting --output-path $(DOCS_DIR)
	@# DocC has no page at / or /documentation/ for a site of several modules: send both to Strata's landing page.
	@for page in $(DOCS_DIR)/index.html $(DOCS_DIR)/documentation/index.html; do \
	  printf '%s\n' '<!doctype html><meta http-equiv="refresh" content="0; url=/documentation/strata/">' \
	    '<title>Strata documentation</title><a href="/documentation/strata/">Strata documentation</a>' > $$page; \
	done
	@python3 Scripts/check-docs.py $(DOCS_DIR) $(DOCS_TARGETS)

# dltrain's defaults: the mlp preset on the embedded MNIST, 3 epochs of SGD with a cosine schedule.
demo: setup
	$(SWIFT) run -c release dltrain train

# Release build, then bench/interleave.py: dlbench and bench/torch_reference.py in ROUNDS interleaved rounds
# (each workload a Strata/PyTorch pair at 2 threads, then at 1; even rounds in reverse order), the per-round
# JSONL under .build/bench/, then the table of median ratios with min-max and the missed targets.
# PYTHON is the interpreter that runs PyTorch (e.g. make bench PYTHON=/work/venv/bin/python); without torch,
# Strata's figures only. BENCH_ARGS passes --only/--steps/--warmup (e.g. BENCH_ARGS="--only mlp --steps 10").
BENCH_DIR := .build/bench
BENCH_ARGS ?=
ROUNDS ?= 3
PYTHON ?= python3
bench: setup check-layers
	$(SWIFT) build -c release --product dlbench
	@$(PYTHON) bench/interleave.py --dlbench "$$($(SWIFT) build -c release --show-bin-path)/dlbench" \
	  --rounds $(ROUNDS) --out $(BENCH_DIR) $(BENCH_ARGS)

# One epoch of the cnn and lstm presets on the embedded MNIST with the release dltrain, and the same recipe in
# PyTorch (bench/torch_e2e.py), then both epoch times, their ratio and both test accuracies (bench/e2e.py).
# THREADS defaults to dltrain's own default (STRATA_THREADS, else every core); E2E_ROUNDS repeats the pairs.
THREADS ?=
E2E_ROUNDS ?= 1
bench-e2e: setup check-layers
	$(SWIFT) build -c release --product dltrain
	$(SWIFT) build -c release --product dlbench
	@bin="$$($(SWIFT) build -c release --show-bin-path)"; \
	threads="$(THREADS)"; threads="$${threads:-$${STRATA_THREADS:-$$(nproc)}}"; \
	$(PYTHON) bench/e2e.py --dltrain "$$bin/dltrain" --dlbench "$$bin/dlbench" --threads "$$threads" \
	  --rounds $(E2E_ROUNDS) --out $(BENCH_DIR)

# Data-parallel scaling on the mlp and cnn train steps: one process with 2 threads against mpirun's 2 ranks
# with 1 thread each (bound one per core), each rank on the workload's full batch; then the table.
MPIRUN := mpirun $(shell [ "$$(id -u)" -eq 0 ] && echo --allow-run-as-root) --bind-to core
bench-distributed: setup check-layers
	$(SWIFT) build -c release --product dlbench
	@mkdir -p $(BENCH_DIR); rm -f $(BENCH_DIR)/scaling-*.jsonl
	@bin="$$($(SWIFT) build -c release --show-bin-path)/dlbench"; \
	echo "== 1 process × 2 threads"; \
	$$bin --threads 2 --only mlp,cnn --json $(BENCH_DIR)/scaling-1x2.jsonl $(BENCH_ARGS) || exit 1; \
	echo "== mpirun -np 2, 1 thread per rank"; \
	$(MPIRUN) -np 2 $$bin --threads 1 --only mlp,cnn --json $(BENCH_DIR)/scaling-2x1.jsonl $(BENCH_ARGS) || exit 1; \
	echo; $(PYTHON) bench/scaling.py $(BENCH_DIR)/scaling-1x2.jsonl $(BENCH_DIR)/scaling-2x1.jsonl

clean:
	rm -rf .build
