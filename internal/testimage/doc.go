// Package testimage builds the container image the data plane's tests run: a single-layer image
// holding one static Go program (./testserver) compiled at test time, written as a docker-save or
// OCI tarball that `nodeless image load` (runtime.Containerd.LoadImage) imports. No registry and no
// network are needed.
//
// The program's behaviour is chosen by its arguments (see testserver's doc): serve HTTP, exit with a
// code, sleep, turn unhealthy, print to stdout/stderr, handle or ignore SIGTERM, allocate memory.
// The image's ENTRYPOINT is ["/testserver"] and its CMD ["-listen", ":8080"] (TarballEntrypoint: another ENTRYPOINT).
package testimage
