// Package controllerimage builds the container image of `nodeless controller` (the chart's image)
// with go-containerregistry, without a Docker daemon or a base image: one layer holding the static
// nodeless binary as /nodeless, the CA certificates of Debian's ca-certificates package as
// /etc/ssl/certs/ca-certificates.crt (where Go's crypto/x509 looks first on Linux), /etc/passwd
// and /etc/group naming the non-root user nonroot (65532, as distroless images number it), and a
// world-writable /tmp. The image runs as that user; its entrypoint is /nodeless, its command
// `controller`.
//
// `make image` builds the binary with CGO_ENABLED=0 and runs hack/image, which writes the image
// as a `docker save` tarball (for `nodeless image load`, `docker load`, `crane push`, `skopeo copy
// docker-archive:`) or as an OCI image layout directory (`crane push`, `skopeo copy oci:`).
//
// The image is reproducible: every file and the config carry the Unix epoch as their time
// (or Options.Created), so the same binary and certificates give the same digest.
package controllerimage
