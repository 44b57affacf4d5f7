// Package localhost is taskhost.Host over the local data plane, in the same process (`nodeless
// up`): a container's log from its log file (runtime.LogPath, in the CRI log format and read with
// the kubelet's own reader, k8s.io/cri-client/pkg/logs), exec and signals through the data
// plane's containerd, attach as the container's output from now on, connections into the local
// VPC ((*dataplane.DataPlane).Dial) and task volumes' host directories (runtime.VolumeDir).
//
// Attach has no standard input: the containerd shim hands a container's output to its logging
// binary and keeps no stdin open (ECS `interactive` is not supported by the local data plane
// yet), so `kubectl attach -i` and `-t` are refused with an UnsupportedError saying so.
package localhost
