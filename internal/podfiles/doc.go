// Package podfiles is what the files of configMap, secret, downwardAPI and projected volumes are
// made of on nodeless: the layout of a ConfigMap's or Secret's data in Secrets Manager secret
// values (Pack, Unpack), the manifest that tells the nodeless-files init container what to write
// (Manifest), the files a volume holds (Payload) and the kubelet's atomic writer (Write: a
// "..data" symlink to a timestamped directory, a symlink per file, modes, fsGroup ownership).
//
// It uses the standard library only: cmd/nodeless-agent, a small static program in every task
// that has such volumes, is built from it; the virtual node uses the same code to keep the files
// of running tasks current.
package podfiles
