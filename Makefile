# ITE — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run test build generate check vendor bench clean

## run: the app with demo data on http://localhost:8080 (private PostgreSQL when DATABASE_URL is unset)
run: build
	@scripts/ensure-packages.sh postgres
	./bin/server serve -migrate -demo

## build: a static binary in bin/server
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/server ./cmd/server

## test: formatting, vet, templ freshness, then every test (PostgreSQL, Chromium and LibreOffice are installed when missing and root)
test: check
	@scripts/ensure-packages.sh postgres chromium libreoffice poppler
	@# the S3 server first: on a fresh machine this builds SeaweedFS's weed into ~/.cache/ite (minutes, once),
	@# so that time does not count against the other packages' timeout (ITE_SKIP_S3=1 skips the S3 tests)
	$(GO) test -count=1 -timeout 40m ./internal/s3local/...
	$(GO) test -count=1 -timeout 30m ./...
	@# the storage and chain tests again as a CRYPTO=gm installation (SM3 chains, SM4 documents; about 30 s)
	ITE_TEST_CRYPTO=gm $(GO) test -count=1 -timeout 10m ./internal/postgres/... ./internal/seed/ ./cmd/server/

## check: gofmt, go vet, and the generated templ files are current
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt 未通过，请运行 gofmt -w：$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@scripts/check-generated.sh

## generate: regenerate templ output (commit the *_templ.go files)
generate:
	$(GO) tool templ generate

## vendor: copy pinned front-end files from npm into web/static
vendor:
	cd web && npm ci --no-audit --no-fund --ignore-scripts
	cp web/node_modules/htmx.org/dist/htmx.min.js web/static/htmx.min.js

## bench: load harness on a private PostgreSQL (BENCH_APPS=100000 BENCH_POSTINGS=1000000; see docs/PERFORMANCE.md)
bench:
	scripts/bench.sh

clean:
	rm -rf bin
