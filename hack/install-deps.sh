#!/usr/bin/env bash
# Installs the Debian packages nodeless runs on, when they are missing: containerd and runc (the local
# data plane's container runtime), slirp4netns (the uplink of its VPC) and awscli (the CLI smoke test).
# Nothing is downloaded from anywhere but Debian's package archive.
set -euo pipefail

need=()
command -v containerd >/dev/null 2>&1 || need+=(containerd)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/bin/aws ] || need+=(awscli)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v slirp4netns >/dev/null 2>&1 || need+=(slirp4netns)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "nodeless needs: ${need[*]}. Install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing ${need[*]} from Debian's archive"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
