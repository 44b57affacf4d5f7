package dataplanetest

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// LoadTestImage imports the test image (package testimage, built at test time; no registry) into the
// data plane's containerd and returns its reference, testimage.DefaultRef.
func (e *Env) LoadTestImage(t testing.TB) string {
	t.Helper()
	f, err := os.Open(testimage.Tarball(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	names, err := e.DataPlane.Runtime().LoadImage(ctx, f)
	if err != nil {
		t.Fatalf("loading the test image: %v", err)
	}
	if !slices.Contains(names, testimage.DefaultRef) {
		t.Fatalf("loading the test image gave %v, want %s", names, testimage.DefaultRef)
	}
	return testimage.DefaultRef
}
