# SecureMedia — build, test, demo and benchmark entry points.
# `make demo` and `make test` are the two set-up commands the README promises.

GO        ?= go
BIN       := bin/securemedia
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 15s
# How long the fuzzer may shrink each new input it finds: Go's default of a
# minute per input spends a 15 s budget shrinking the first one or two (no
# executions counted meanwhile) instead of fuzzing.
FUZZMINTIME ?= 1s
STATICCHECK_VERSION := v0.7.0

.PHONY: all build viewers install uninstall test unit lint fuzz demo bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/securemedia

# The disc viewer for every system a disc serves, laid out as under VIEWER/
# on the disc, next to $(BIN): burn takes them from there by default.
VIEWERS := windows/amd64:WIN/VIEWER.EXE darwin/arm64:MAC_ARM/VIEWER darwin/amd64:MAC_X64/VIEWER linux/amd64:LINUX/VIEWER
VIEWER_DIR := $(dir $(BIN))VIEWER

# INDEX.HTM, the page that opens a medium in a browser alone, and its
# assets (media.PageFiles): cmd/discpage built for WebAssembly, then
# written into the page by cmd/discpage run here.
PAGE_FILES := INDEX.HTM PAGE/PAGE.JS PAGE/WASM.JS PAGE/PAGE.CSS
PAGE_WASM := $(dir $(BIN))discpage.wasm

viewers:
	@set -e; for v in $(VIEWERS); do \
	  target=$${v%%:*}; out=$(VIEWER_DIR)/$${v#*:}; \
	  echo "viewer $$target -> $$out"; \
	  CGO_ENABLED=0 GOOS=$${target%/*} GOARCH=$${target#*/} $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/discviewer; \
	done
	@echo "page js/wasm -> $(VIEWER_DIR)/INDEX.HTM, $(VIEWER_DIR)/PAGE/"
	CGO_ENABLED=0 GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(PAGE_WASM) ./cmd/discpage
	$(GO) run ./cmd/discpage -wasm $(PAGE_WASM) -wasm-exec "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" -o $(VIEWER_DIR)

# Install the program, the viewer programs burn puts on every medium, the
# manual pages (made from the commands' own help) and completion for bash,
# zsh and fish, under PREFIX (staged under DESTDIR for packaging):
#   make install                       # /usr/local (as root)
#   PREFIX=~/.local make install       # for one user
# The viewer programs go to PREFIX/lib/securemedia/VIEWER, where burn looks
# for them when the program is PREFIX/bin/securemedia (lib, not share: they
# are programs, though for other systems).
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      := $(PREFIX)/bin
LIBDIR      := $(PREFIX)/lib/securemedia
MANDIR      := $(PREFIX)/share/man/man1
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  := $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR := $(PREFIX)/share/fish/vendor_completions.d
GENERATED   := $(dir $(BIN))generated

install: build viewers
	rm -rf $(GENERATED)
	$(BIN) man-pages $(GENERATED)/man
	$(BIN) completion bash > $(GENERATED)/securemedia.bash
	$(BIN) completion zsh > $(GENERATED)/securemedia.zsh
	$(BIN) completion fish > $(GENERATED)/securemedia.fish
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/securemedia
	@set -e; for v in $(VIEWERS); do \
	  f=$${v#*:}; install -d $(DESTDIR)$(LIBDIR)/VIEWER/$${f%/*}; \
	  echo "install -m 0755 $(VIEWER_DIR)/$$f $(DESTDIR)$(LIBDIR)/VIEWER/$$f"; \
	  install -m 0755 $(VIEWER_DIR)/$$f $(DESTDIR)$(LIBDIR)/VIEWER/$$f; \
	done
	@set -e; for f in $(PAGE_FILES); do \
	  install -d $(DESTDIR)$(LIBDIR)/VIEWER/$$(dirname $$f); \
	  echo "install -m 0644 $(VIEWER_DIR)/$$f $(DESTDIR)$(LIBDIR)/VIEWER/$$f"; \
	  install -m 0644 $(VIEWER_DIR)/$$f $(DESTDIR)$(LIBDIR)/VIEWER/$$f; \
	done
	install -m 0644 $(GENERATED)/man/*.1 $(DESTDIR)$(MANDIR)
	install -m 0644 $(GENERATED)/securemedia.bash $(DESTDIR)$(BASHCOMPDIR)/securemedia
	install -m 0644 $(GENERATED)/securemedia.zsh $(DESTDIR)$(ZSHCOMPDIR)/_securemedia
	install -m 0644 $(GENERATED)/securemedia.fish $(DESTDIR)$(FISHCOMPDIR)/securemedia.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/securemedia $(DESTDIR)$(MANDIR)/securemedia.1 $(DESTDIR)$(MANDIR)/securemedia-*.1
	rm -f $(DESTDIR)$(BASHCOMPDIR)/securemedia $(DESTDIR)$(ZSHCOMPDIR)/_securemedia $(DESTDIR)$(FISHCOMPDIR)/securemedia.fish
	rm -rf $(DESTDIR)$(LIBDIR)

# The whole test suite: formatting, vet, staticcheck, unit + interop tests
# (openssl, dcmtk, ... run when installed; under CI=true they must be), and a
# bounded fuzzing run of every fuzz target.
test: lint unit fuzz

# Every test once, under the race detector (RACE= to run without it: the
# detector needs cgo and a C compiler). Then the codec again without its
# amd64 assembly (-tags purego): the code that runs on Apple silicon and
# other CPUs, checked against the same tests.
RACE ?= -race
unit:
	$(GO) test $(RACE) -count=1 ./...
	$(GO) test -count=1 -tags purego ./cms/ ./media/

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; \
	  elif [ "$$CI" = true ]; then echo "staticcheck missing (go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION))"; exit 1; \
	  else echo "staticcheck not installed: skipped (go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION))"; fi

# Every Fuzz* target, FUZZTIME each (go test -fuzz takes one target at a time),
# new inputs shrunk for at most FUZZMINTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg; \
	  done; \
	done

# Seal and unseal the bundled sample study with a freshly generated password,
# with the viewer programs on the disc.
demo: build viewers
	./scripts/demo.sh

# Throughput and memory: securemedia vs openssl cms on one large file
# (BENCH_SIZE_MB, default 600), the Go benchmarks, and index vs dcmmkdir on
# 10 000 generated instances.
bench: build viewers
	$(GO) test -run '^$$' -bench . -benchmem ./cms/
	SECUREMEDIA_BENCH=10000 $(GO) test -count=1 -run TestBenchIndexVsDcmmkdir -v ./cmd/securemedia
	./scripts/bench.sh
	./scripts/bench-burn.sh
	./scripts/bench-dimse.sh
	./scripts/bench-publish.sh
	./scripts/bench-viewer.sh
	./scripts/bench-page.sh

clean:
	rm -rf bin demo-out bench-out
