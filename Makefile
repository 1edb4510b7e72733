# Strata build entry points. Every target that compiles depends on `setup`, which installs
# the system packages a fresh Debian machine lacks (and does nothing when they are present).
# Open MPI (libopenmpi-dev, openmpi-bin) serves StrataDistributed, dltrain under mpirun and the 2-rank tests.
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config zlib1g-dev libopenmpi-dev openmpi-bin
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
SWIFT ?= swift

.PHONY: setup build test demo check-layers bench bench-distributed clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Each system library is imported by exactly one file: OpenBLAS by the kernel layer's BLAS wrapper,
# zlib by the data layer's gzip reader. The C kernels (CStrataKernels) are imported only by the kernel layer.
check-layers:
	@bad=$$(grep -rln --include='*.swift' '^import COpenBLAS' Sources Tests | grep -v '^Sources/Strata/Kernels/BLAS.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: COpenBLAS imported outside Kernels/BLAS.swift: $$bad"; exit 1; fi
	@bad=$$(grep -rln --include='*.swift' '^import CZlib' Sources Tests | grep -v '^Sources/Strata/Data/Gzip.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: CZlib imported outside Data/Gzip.swift: $$bad"; exit 1; fi
	@bad=$$(grep -rln --include='*.swift' '^import CStrataKernels' Sources Tests | grep -v '^Sources/Strata/Kernels/[^/]*\.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: CStrataKernels imported outside Sources/Strata/Kernels: $$bad"; exit 1; fi
	@# Optimised builds drop precondition's message; the library uses require(_:_:), which always prints it.
	@bad=$$(grep -rln --include='*.swift' -E '\bprecondition(Failure)?\(' Sources/Strata || true); \
	if [ -n "$$bad" ]; then echo "check-layers: use require(_:_:) or fatalError instead of precondition in: $$bad"; exit 1; fi

build: setup check-layers
	$(SWIFT) build -c release

# The whole suite once (on the widest level this CPU runs), then the Float32 golden and kernel suites again on
# every level with STRATA_ISA, reusing the test binary; levels this CPU lacks are reported as skipped.
ISA_SUITES := Golden|VectorMathTests|GradientKernelTests|KernelAgreementTests|KernelISATests|ActivationTests|ArithmeticTests|ElementwiseTests|ErfTests|SoftmaxTests
test: setup check-layers
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

# dltrain's defaults: the mlp preset on the embedded MNIST, 3 epochs of SGD with a cosine schedule.
demo: setup
	$(SWIFT) run -c release dltrain train

# Release build, then dlbench and (when torch imports) bench/torch_reference.py interleaved at 2 and 1
# threads: strata 2t, torch 2t, strata 1t, torch 1t. JSONL under .build/bench/, then the ratio table.
# BENCH_ARGS passes extra options to both (e.g. BENCH_ARGS="--only mlp --steps 10").
BENCH_DIR := .build/bench
BENCH_ARGS ?=
bench: setup check-layers
	$(SWIFT) build -c release --product dlbench
	@mkdir -p $(BENCH_DIR); rm -f $(BENCH_DIR)/*.jsonl
	@bin="$$($(SWIFT) build -c release --show-bin-path)/dlbench"; \
	$$bin --info; echo; \
	if python3 -c "import torch" 2>/dev/null; then torch=1; \
	  python3 -c "import torch; print('PyTorch', torch.__version__, '| MKL:', torch.backends.mkl.is_available(), '| oneDNN:', torch.backends.mkldnn.is_available())"; \
	else torch=0; echo "make bench: python3 cannot import torch; printing Strata's figures only."; fi; \
	for t in 2 1; do \
	  echo "== strata, $$t thread(s)"; \
	  $$bin --threads $$t --json $(BENCH_DIR)/strata-$${t}t.jsonl $(BENCH_ARGS) || exit 1; \
	  if [ $$torch = 1 ]; then \
	    echo "== pytorch, $$t thread(s)"; \
	    python3 bench/torch_reference.py --threads $$t --json $(BENCH_DIR)/pytorch-$${t}t.jsonl $(BENCH_ARGS) || exit 1; \
	  fi; \
	done; \
	echo; python3 bench/ratios.py $(BENCH_DIR)/*.jsonl

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
	echo; python3 bench/scaling.py $(BENCH_DIR)/scaling-1x2.jsonl $(BENCH_DIR)/scaling-2x1.jsonl

clean:
	rm -rf .build
