# gru-run: build, example, tests, benchmark.
SWIFT ?= swift
PREFIX ?= /usr/local
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libhdf5-dev pkg-config

.PHONY: deps build example test clean

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

test: deps
	$(SWIFT) build
	$(SWIFT) test

clean:
	rm -rf .build
