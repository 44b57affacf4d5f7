// Command image writes the container image of `nodeless controller` (package
// internal/controllerimage) from a static nodeless binary, without a Docker daemon:
//
//	go run ./hack/image --binary bin/linux-amd64/nodeless --tag ghcr.io/nodeless-dev/nodeless:v0.1.0 \
//	    --out bin/nodeless-image.tar
//
// `make image` runs it. --format docker (default) writes a `docker save` tarball; --format oci an
// OCI image layout directory.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/nodeless-dev/nodeless/internal/controllerimage"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var opts controllerimage.Options
	var tag, out, format string
	fs.StringVar(&opts.Binary, "binary", "", "the static nodeless binary (CGO_ENABLED=0)")
	fs.StringVar(&opts.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle of Debian's ca-certificates package")
	fs.StringVar(&opts.CACertsVersion, "ca-certs-version", "", "the ca-certificates package version, recorded as a label")
	fs.StringVar(&opts.Arch, "arch", runtime.GOARCH, "GOARCH of the binary")
	fs.StringVar(&opts.Version, "version", "", "nodeless version, recorded as a label")
	fs.StringVar(&opts.Revision, "revision", "", "git commit, recorded as a label")
	fs.StringVar(&tag, "tag", "ghcr.io/nodeless-dev/nodeless:dev", "the image's name")
	fs.StringVar(&out, "out", "", "where to write the image")
	fs.StringVar(&format, "format", "docker", "docker (a docker save tarball) or oci (an OCI image layout directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if out == "" {
		return errors.New("--out: give where to write the image")
	}
	img, err := controllerimage.Build(opts)
	if err != nil {
		return err
	}
	switch format {
	case "docker":
		err = controllerimage.WriteTarball(out, tag, img)
	case "oci":
		err = controllerimage.WriteLayout(out, tag, img)
	default:
		return fmt.Errorf("--format %q: give docker or oci", format)
	}
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("the image's digest: %w", err)
	}
	fmt.Printf("%s %s (%s) -> %s\n", tag, digest, format, out)
	return nil
}
