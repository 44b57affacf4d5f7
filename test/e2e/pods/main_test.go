// Package pods_test runs ordinary Kubernetes workloads on `nodeless up` as a user does (issue 8,
// "How it is checked", end to end): the built binary with its control plane, workload controllers,
// scheduler, virtual node and local data plane; the real kubectl (`nodeless kubectl`) and the real
// Helm 3 and Helm 4; real containers of the test image (internal/testimage), loaded with
// `nodeless image load`. Every Pod runs as one ECS task: the tests look at the tasks through the
// data plane's ECS API with the AWS SDK, and reach Pods on their addresses through the data plane's
// VPC (docs/adr/0008-local-vpc.md).
//
// The tests skip with a reason when they cannot run here (not root, no containerd, -short). Every
// wait is bounded; nothing is timed.
package pods_test

import (
	"os"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

const (
	// waitTimeout bounds every wait for a condition; generous, because CI machines are slow and
	// nothing here is a timing assertion.
	waitTimeout = 3 * time.Minute
	// kubectlWait is waitTimeout as kubectl's and helm's --timeout flags spell it.
	kubectlWait = "3m"
	// commandTimeout bounds every command a test runs (kubectl, helm, nodeless).
	commandTimeout = 5 * time.Minute

	// webV1 and webV2 are the test image (serving HTTP on podPort) under two names, so that a
	// Deployment can change its image; crashV1 is the test image that exits 2 at start.
	webV1   = "nodeless.test/web:v1"
	webV2   = "nodeless.test/web:v2"
	crashV1 = "nodeless.test/crash:v1"

	podPort = testimage.Port
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
