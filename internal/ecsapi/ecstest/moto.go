// Package ecstest starts ECS endpoints for tests: moto_server, an independent ECS mock, so that
// request shapes only nodeless's own data plane accepts are caught.
package ecstest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Region and credentials every test endpoint accepts.
const (
	Region          = "us-east-1"
	AccessKeyID     = "AKIDNODELESSTEST"
	SecretAccessKey = "nodeless-test-secret"
)

// StartMoto starts moto_server on a free 127.0.0.1 port for the duration of the test and returns
// its endpoint. The test is skipped when moto_server is not installed.
func StartMoto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server not found in PATH: install it with 'pip install \"moto[server]\"' to run this test")
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting moto_server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(endpoint, 30*time.Second); err != nil {
		t.Fatalf("moto_server did not come up: %v", err)
	}
	return endpoint
}

// Client returns an SDK-backed ecsapi.API for endpoint with the test credentials.
func Client(t testing.TB, endpoint string) ecsapi.API {
	t.Helper()
	c, err := ecsapi.NewClient(context.Background(), ecsapi.Options{
		Endpoint: endpoint, Region: Region, AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey,
	})
	if err != nil {
		t.Fatalf("building ECS client: %v", err)
	}
	return c
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url + "/moto-api/") //nolint:noctx // test helper polling a local server
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
