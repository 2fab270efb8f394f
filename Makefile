# The project's commands. README.md names them; .ci/run runs `make test`.
#   make run      install packages, build (release), run the main job
#   make test     install packages, build, run every test against real servers
#   make bench    run the benchmarks in bench/ (each prints a ratio against a named peer)
#   make lint     swift-format and the generated-files check
#   make docs     regenerate man/ and completions/ from the applet table
#   make install  PREFIX=/usr/local: binary, role symlinks, man pages, completions

SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: the four C libraries (and SQLite) to build against, the servers the
# integration tests run for real, openssl to make their throwaway TLS certificates, groff to
# check the man pages; the sqlite3 shell to damage state files behind the store's back;
# Graphviz to draw `cp graph` output; what the bundled examples build with (gcc, pdflatex,
# bibtex, latexmk, pdftotext); chromium, its WebDriver and Python's venv for the web page's
# browser test and the API fuzzer (Selenium and schemathesis from PyPI go into TEST_VENV).
PACKAGES := pkg-config libnats-dev libssh-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev \
	nats-server openssh-server openssh-sftp-server openssh-client openssl groff-base util-linux \
	sqlite3 graphviz gcc make texlive-latex-base texlive-xetex texlive-bibtex-extra biber latexmk poppler-utils \
	chromium chromium-driver python3 python3-venv fonts-dejavu-core
TEST_VENV := .build/test-venv
BENCH_PACKAGES := hyperfine python3 inotify-tools watchman ninja-build make curl

BENCH_LOG := .build/bench.log
# Each benchmark's command line, in the order they run (bench/soak is apart: half an hour).
BENCHES := './bench/cp-handoff $(RELEASE_BIN)' \
	'./bench/nats-throughput' \
	'./bench/sftp-throughput $(RELEASE_BIN)' \
	'./bench/sftp-resume $(RELEASE_BIN)' \
	'./bench/watch-setup $(RELEASE_BIN)' \
	'./bench/watch-latency $(RELEASE_BIN)' \
	'./bench/watch-overflow $(RELEASE_BIN)' \
	'./bench/watch-newdirs $(RELEASE_BIN)' \
	'./bench/watch-saves $(RELEASE_BIN)' \
	'./bench/watch-quiet $(RELEASE_BIN)' \
	'./bench/watch-hashing $(RELEASE_BIN)' \
	'./bench/watch-limit $(RELEASE_BIN)' \
	'./bench/chef-overhead 2000 $(RELEASE_BIN)' \
	'./bench/chef-fetch 100 $(RELEASE_BIN)' \
	'$(SWIFT) build $(RELEASE_FLAGS) --product graph-bench' \
	'./bench/graph-incremental' \
	'./bench/graph-plan 50000 $(RELEASE_BIN)' \
	'./bench/graph-scc' \
	'./bench/graph-dot' \
	'./bench/graph-latex $(RELEASE_BIN)' \
	'./bench/majordomo-change' \
	'./bench/majordomo-ingest 20000 $(RELEASE_BIN)' \
	'./bench/majordomo-rest 100 2000 $(RELEASE_BIN)' \
	'./bench/up-latency $(RELEASE_BIN) 50' \
	'./bench/up-build $(RELEASE_BIN) 10000' \
	'./bench/web-graph $(RELEASE_BIN)'

ROLE_LINKS := inotify2nats majordomo cpchef cpctrl
RELEASE_FLAGS := -c release --static-swift-stdlib
DEBUG_BIN = $(shell $(SWIFT) build --show-bin-path)/cp
RELEASE_BIN = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/cp

.PHONY: setup setup-bench build release run test bench lint docs install clean

## setup: install the Debian packages the build and the tests need (only what is missing).
setup:
	@./scripts/apt-install $(PACKAGES)
	@$(SUDO) mkdir -p /run/sshd
	@cmp -s Tests/requirements.txt $(TEST_VENV)/requirements.txt 2>/dev/null || { \
		rm -rf $(TEST_VENV) && /usr/bin/python3 -m venv $(TEST_VENV) && \
		$(TEST_VENV)/bin/pip install --quiet --disable-pip-version-check -r Tests/requirements.txt && \
		cp Tests/requirements.txt $(TEST_VENV)/requirements.txt; }

setup-bench: setup
	@./scripts/apt-install $(BENCH_PACKAGES)

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build $(RELEASE_FLAGS) --product cp

## run: the main job. Until `cp up` exists (see the README's roadmap), a short tour.
run: release
	$(RELEASE_BIN) --version
	rm -rf .build/run && mkdir -p .build/run && tar -C examples --exclude=.cp -cf - latex-paper | tar -C .build/run -xf -
	$(RELEASE_BIN) up --once .build/run/latex-paper
	@echo "--- again: nothing is out of date, so nothing reruns"
	$(RELEASE_BIN) up --once .build/run/latex-paper

## test: one build of everything, then every test once (PLATFORM.md: alternating build and
## test re-plans), under a time limit, then a sweep for any server a test left running.
test: setup
	$(SWIFT) build --build-tests
	./scripts/run-tests $(SWIFT) test --skip-build

## bench: every benchmark, each against its peer in the same run; their output goes to
## BENCH_LOG, and a table of every figure with its target ends it (bench/summary). A benchmark
## that fails is named and the rest still run.
bench: setup-bench release
	@rm -f $(BENCH_LOG); failed=""; \
	for bench in $(BENCHES); do \
		echo "--- $$bench" | tee -a $(BENCH_LOG); \
		{ sh -c "$$bench" 2>&1; echo $$? > $(BENCH_LOG).status; } | tee -a $(BENCH_LOG); \
		[ "$$(cat $(BENCH_LOG).status)" = 0 ] || failed="$$failed $$bench"; \
	done; \
	echo; ./bench/summary $(BENCH_LOG); \
	[ -z "$$failed" ] || { echo "failed:$$failed"; exit 1; }

lint: build
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests
	./scripts/check-generated $(DEBUG_BIN)

docs: build
	$(DEBUG_BIN) --generate-docs .

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/cp/rules $(DESTDIR)$(PREFIX)/share/cp/examples
	install -s -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/cp
	for link in $(ROLE_LINKS); do ln -sf cp $(DESTDIR)$(PREFIX)/bin/$$link; done
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 completions/cp.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cp
	for link in $(ROLE_LINKS); do ln -sf cp $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$link; done
	install -m 0644 completions/_cp $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_cp
	install -m 0644 completions/cp.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/cp.fish
	install -m 0644 rules/*.ryml $(DESTDIR)$(PREFIX)/share/cp/rules/
	tar -C examples --exclude=.cp -cf - . | tar -C $(DESTDIR)$(PREFIX)/share/cp/examples -xf -  # not the state of a build made in place

clean:
	rm -rf .build
