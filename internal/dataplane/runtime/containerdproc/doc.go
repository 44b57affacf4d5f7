// Package containerdproc starts and supervises a private containerd daemon for the local data plane.
//
// The daemon gets its own configuration, root, state, gRPC socket and plugin directory under one
// directory (normally StateDir/containerd), with the CRI plugin disabled, so it never touches the
// host's default containerd. Its pid is recorded in a pid file: a restarted nodeless adopts a daemon
// that is still running for the same directory instead of starting a second one, so running shims
// and containers survive a kill -9 of nodeless. A daemon that dies is started again.
package containerdproc
