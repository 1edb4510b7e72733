# Strata build entry points. Every target that compiles depends on `setup`, which installs
# the system packages a fresh Debian machine lacks (and does nothing when they are present).
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config zlib1g-dev
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
SWIFT ?= swift

.PHONY: setup build test demo check-layers bench clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Each system library is imported by exactly one file: OpenBLAS by the kernel layer's BLAS wrapper,
# zlib by the data layer's gzip reader.
check-layers:
	@bad=$$(grep -rln --include='*.swift' '^import COpenBLAS' Sources Tests | grep -v '^Sources/Strata/Kernels/BLAS.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: COpenBLAS imported outside Kernels/BLAS.swift: $$bad"; exit 1; fi
	@bad=$$(grep -rln --include='*.swift' '^import CZlib' Sources Tests | grep -v '^Sources/Strata/Data/Gzip.swift$$' || true); \
	if [ -n "$$bad" ]; then echo "check-layers: CZlib imported outside Data/Gzip.swift: $$bad"; exit 1; fi
	@# Optimised builds drop precondition's message; the library uses require(_:_:), which always prints it.
	@bad=$$(grep -rln --include='*.swift' -E '\bprecondition(Failure)?\(' Sources/Strata || true); \
	if [ -n "$$bad" ]; then echo "check-layers: use require(_:_:) or fatalError instead of precondition in: $$bad"; exit 1; fi

build: setup check-layers
	$(SWIFT) build -c release

test: setup check-layers
	$(SWIFT) test -c release

# dltrain's defaults: the mlp preset on the embedded MNIST, 3 epochs of SGD with a cosine schedule.
demo: setup
	$(SWIFT) run -c release dltrain train

clean:
	rm -rf .build
