#!/usr/bin/env bash
# Prints the -ldflags that stamp the embedded Kubernetes (kube-apiserver, controller-manager, kubectl)
# with the release that go.mod pins. Without them `kubectl version` shows v0.0.0-master+$Format:%H$,
# clients that parse the server version fail, and Helm's kubeVersion constraints do not match.
# Kubernetes' own build does the same (hack/lib/version.sh).
#
#   go build -ldflags "$(hack/kube-version-ldflags.sh)" ./cmd/nodeless
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)   # e.g. v1.37.2
core=${version#v}; core=${core%%[-+]*}
major=${core%%.*}; rest=${core#*.}; minor=${rest%%.*}

flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  flags+=" -X ${pkg}.gitVersion=${version}"
  flags+=" -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
  flags+=" -X ${pkg}.gitTreeState=clean"
done
echo "${flags# }"
