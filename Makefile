# nodeless — build, run, test.
# Tools and heavy artefacts are cached under .cache/ (ignored by git) so a second run is fast.

SHELL         := /usr/bin/env bash
CACHE         := $(CURDIR)/.cache
BIN           := $(CURDIR)/bin
GOBIN_TOOLS   := $(CACHE)/bin
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -X main.version=$(VERSION) $(shell hack/kube-version-ldflags.sh)
GOLANGCI_LINT_VERSION   ?= v2.6.2
CONTROLLER_GEN_VERSION  ?= v0.23.0
HELM3_VERSION           ?= v3.22.0
HELM4_VERSION           ?= v4.3.1
TEST_TIMEOUT  ?= 25m
STATE_DIR     ?=

export NODELESS_BIN := $(BIN)/nodeless
# The Helm binaries the end-to-end tests install charts with (test/e2e/pods).
export HELM3_BIN    := $(GOBIN_TOOLS)/helm3
export HELM4_BIN    := $(GOBIN_TOOLS)/helm4

.PHONY: all build image up deps helm test test-unit lint vet verify generate bench soak fuzz clean

all: build

## deps: install the system packages nodeless runs on (containerd, runc, slirp4netns, awscli) when missing.
deps:
	@hack/install-deps.sh

## build: the single nodeless binary (kube-apiserver, controller-manager, kubectl, controllers, data plane),
## and beside it nodeless-agent, the small static program of the nodeless-files init container.
build:
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/nodeless ./cmd/nodeless
	CGO_ENABLED=0 go build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o $(BIN)/nodeless-agent ./cmd/nodeless-agent

## image: the container image of `nodeless controller` (charts/nodeless), built without a Docker daemon or
## a base image (internal/controllerimage): the static binary, Debian's CA certificates, a non-root user.
## IMAGE names it, IMAGE_FORMAT=docker writes a `docker save` tarball to bin/nodeless-image.tar,
## IMAGE_FORMAT=oci an OCI layout to bin/nodeless-image.oci. Push either with crane or skopeo.
IMAGE        ?= ghcr.io/nodeless-dev/nodeless:$(VERSION)
IMAGE_FORMAT ?= docker
IMAGE_ARCH   ?= $(shell go env GOARCH)
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(BIN)/linux-$(IMAGE_ARCH)/nodeless ./cmd/nodeless
	go run ./hack/image --binary $(BIN)/linux-$(IMAGE_ARCH)/nodeless --arch $(IMAGE_ARCH) --tag $(IMAGE) --format $(IMAGE_FORMAT) \
	  --version $(VERSION) --revision $$(git rev-parse HEAD) \
	  --ca-certs-version "$$(dpkg-query -W -f='$${Version}' ca-certificates 2>/dev/null)" \
	  --out $(BIN)/nodeless-image.$(if $(filter oci,$(IMAGE_FORMAT)),oci,tar)

## up: build and run nodeless locally (control plane + controllers + local data plane).
up: deps build
	$(BIN)/nodeless up $(if $(STATE_DIR),--state-dir $(STATE_DIR))

## test: every test, including end-to-end tests on real containers (root and containerd needed; they skip with a reason otherwise).
test: deps build helm
	go test -timeout $(TEST_TIMEOUT) -count=1 ./...

## test-unit: only the fast tests (no containers, no API server).
test-unit:
	go test -short -count=1 ./...

vet:
	go vet ./...

$(GOBIN_TOOLS)/golangci-lint:
	GOBIN=$(GOBIN_TOOLS) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(GOBIN_TOOLS)/controller-gen:
	GOBIN=$(GOBIN_TOOLS) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

## helm: Helm 3 and Helm 4 for the end-to-end tests, each built once from the Go module proxy with
## `go install pkg@version` (the release's own go.mod and go.sum, checked against sum.golang.org) and
## kept in .cache/bin as helm-VERSION; helm3 and helm4 link to the versions in use.
helm: $(GOBIN_TOOLS)/helm3 $(GOBIN_TOOLS)/helm4

$(GOBIN_TOOLS)/helm3: $(GOBIN_TOOLS)/helm-$(HELM3_VERSION)
	ln -sfn helm-$(HELM3_VERSION) $@

$(GOBIN_TOOLS)/helm4: $(GOBIN_TOOLS)/helm-$(HELM4_VERSION)
	ln -sfn helm-$(HELM4_VERSION) $@

# Both releases install a binary named helm: each goes through its own GOBIN, then is renamed.
$(GOBIN_TOOLS)/helm-$(HELM3_VERSION):
	GOBIN=$(CACHE)/gobin-helm-$(HELM3_VERSION) go install helm.sh/helm/v3/cmd/helm@$(HELM3_VERSION)
	mkdir -p $(GOBIN_TOOLS) && mv $(CACHE)/gobin-helm-$(HELM3_VERSION)/helm $@ && rmdir $(CACHE)/gobin-helm-$(HELM3_VERSION)

$(GOBIN_TOOLS)/helm-$(HELM4_VERSION):
	GOBIN=$(CACHE)/gobin-helm-$(HELM4_VERSION) go install helm.sh/helm/v4/cmd/helm@$(HELM4_VERSION)
	mkdir -p $(GOBIN_TOOLS) && mv $(CACHE)/gobin-helm-$(HELM4_VERSION)/helm $@ && rmdir $(CACHE)/gobin-helm-$(HELM4_VERSION)

lint: $(GOBIN_TOOLS)/golangci-lint
	$(GOBIN_TOOLS)/golangci-lint run ./...

## generate: deep copies and CRDs from the Go types in api/.
generate: $(GOBIN_TOOLS)/controller-gen
	$(GOBIN_TOOLS)/controller-gen object paths=./api/...
	$(GOBIN_TOOLS)/controller-gen crd paths=./api/... output:crd:artifacts:config=config/crd

## verify: vet, lint, and fail when generated files or go.mod are out of date.
verify: vet lint generate
	go mod tidy
	@git diff --exit-code -- go.mod go.sum api config || { echo "generated files or go.mod are stale: run 'make generate' and 'go mod tidy' and commit"; exit 1; }

## bench: the benchmarks in bench/ (results are written down in bench/README.md).
bench: deps build
	go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/...

## soak: the chaos soak (bench/chaos): SOAK_KILLS SIGKILLs of `nodeless dataplane` and its containerd at random
## moments while a service rolls and scales (make test runs it with 3); SOAK_SEED replays a run's choices.
## Results are written down in bench/README.md.
SOAK_KILLS ?= 100
SOAK_SEED  ?=
soak: deps build
	NODELESS_SOAK_KILLS=$(SOAK_KILLS) $(if $(SOAK_SEED),NODELESS_SOAK_SEED=$(SOAK_SEED)) \
	  go test -run '^TestSoak$$' -v -count=1 -timeout 90m ./bench/chaos

## fuzz: run each fuzz target for FUZZTIME (their seed corpora also run in 'make test').
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$(go list ./...); do \
	  for f in $$(go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)
