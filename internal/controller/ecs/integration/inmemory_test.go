package integration

import (
	"context"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// testImage is the image of the in-memory ECS's tasks: its fake runtime never pulls it.
const testImage = "example.com/nodeless/app:1"

// inMemory starts an in-memory ECS (the data plane's API server and scheduler over the fake
// runtime) and returns it with the counting client the controllers are given.
func inMemory(t *testing.T) (*ecsmem.ECS, *ecsapi.Counting) {
	t.Helper()
	e := ecsmem.Start(t, ecsmem.Options{})
	return e, ecsapi.NewCounting(e.Client)
}

// TestLifecycleInMemory runs the scenario against the in-memory ECS: the data plane's own API
// and scheduler, tasks "running" in its fake runtime. Services must become Ready and roll out,
// without root, containerd or moto.
func TestLifecycleInMemory(t *testing.T) {
	c, env := kube(t)
	_, api := inMemory(t)
	s := &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage, wantReady: true}
	s.beforeDelete = func() { s.checkEventsOnce("web") }
	s.run(func() func() { return runControllers(t, env, api) })
}
