# gru-run: build, example, tests, benchmark.
SWIFT ?= swift
PREFIX ?= /usr/local
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libhdf5-dev pkg-config

.PHONY: deps build example test clean bench

# Installs the system libraries gru-run links against, when they are missing.
deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		echo "Installing $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c release --product gru-run

# Runs gru-run on the shipped example: a tf-keras GRU behind a Masking layer, two samples of CSV.
example: build
	@echo "$$ gru-run --weights example/model.h5 --input example/input.csv"
	@$$($(SWIFT) build -c release --show-bin-path)/gru-run --weights example/model.h5 --input example/input.csv

# Release mode: the fixture and end-to-end tests run the optimized kernels that users run.
test: deps
	$(SWIFT) build -c release
	$(SWIFT) test -c release

clean:
	rm -rf .build

# Times gru-run against ONNX Runtime and tf-keras on the same weights (Benchmarks/README.md).
# Benchmarks/.venv is made on first use; BENCH_ARGS=--quick takes fewer repeats.
bench: deps
	@if [ ! -x Benchmarks/.venv/bin/python ]; then python3 -m venv Benchmarks/.venv; fi
	@if [ ! -f Benchmarks/.venv/.installed ] || [ Benchmarks/requirements.txt -nt Benchmarks/.venv/.installed ]; then \
		echo "Installing Benchmarks/requirements.txt into Benchmarks/.venv"; \
		Benchmarks/.venv/bin/pip install -q --disable-pip-version-check -r Benchmarks/requirements.txt && \
		touch Benchmarks/.venv/.installed; \
	fi
	$(SWIFT) build -c release --product gru-run
	Benchmarks/.venv/bin/python Benchmarks/bench.py --gru-run "$$($(SWIFT) build -c release --show-bin-path)/gru-run" $(BENCH_ARGS)
