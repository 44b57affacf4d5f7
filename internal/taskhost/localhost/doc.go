// Package localhost is taskhost.Host over the local data plane, in the same process (`nodeless
// up`): a container's log from its log file (runtime.LogPath, in the CRI log format and read with
// the kubelet's own reader, k8s.io/cri-client/pkg/logs), exec and signals through the data
// plane's containerd, attach as the container's output from now on, connections into the local
// VPC ((*dataplane.DataPlane).Dial) and task volumes' host directories (runtime.VolumeDir).
//
// Attach shows the container's output from now on (from its log file); for a container created
// with stdin (ECS interactive; the runtime gives it FIFOs, runtime.StdinPath) it writes the
// client's input and, for a container with stdinOnce (`kubectl run -i`), ends the container's
// input at its end (without stdinOnce the input stays open for the next attach),
// and forwards terminal sizes with a TTY. `kubectl attach -i` to a container created without
// stdin is an UnsupportedError saying to set stdin: true.
package localhost
