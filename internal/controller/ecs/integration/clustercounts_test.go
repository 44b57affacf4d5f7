package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/controllertest"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestClusterColumnsFollowServices: `kubectl get ecsc` shows SERVICES and RUNNING as ECS counts
// them, read again as its services change (not only every stable poll interval, here an hour away),
// and shows 0 as 0 when the service scales to zero.
func TestClusterColumnsFollowServices(t *testing.T) {
	c, env := kube(t)
	e, api := inMemory(t)
	controllertest.Run(t, controller.Config{
		RestConfig: env.Config, ECS: api, Limits: controller.NoRateLimit(),
		Controllers: managed.Options{PollInterval: 300 * time.Millisecond, StablePollInterval: time.Hour},
		SyncPeriod:  time.Hour, Namespaces: []string{env.Namespace}, AllowRestart: true,
	})
	f := &faultEnv{scenario: &scenario{t: t, c: c, ns: env.Namespace, api: api, ctx: context.Background(), image: testImage}, ecs: e, cfg: env.Config}
	cl, td, svc := newObjects(env.Namespace, testImage)
	f.create(cl)
	eventually(t, 60*time.Second, "Cluster described", func() (bool, string) {
		cols := clusterColumns(t, env.Config, env.Namespace, cl.Name)
		return cols["Services"] == "0" && cols["Running"] == "0", fmt.Sprint(cols)
	})
	f.create(td, svc)
	eventually(t, 60*time.Second, "SERVICES 1 and RUNNING 2", func() (bool, string) {
		cols := clusterColumns(t, env.Config, env.Namespace, cl.Name)
		return cols["Services"] == "1" && cols["Running"] == "2", fmt.Sprint(cols)
	})
	f.get(svc)
	svc.Spec.DesiredCount = aws.Int32(0)
	if err := c.Update(f.ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "RUNNING 0 once the service scaled to zero", func() (bool, string) {
		cols := clusterColumns(t, env.Config, env.Namespace, cl.Name)
		return cols["Services"] == "1" && cols["Running"] == "0", fmt.Sprint(cols)
	})
	// At rest (the service's counts settled, the stable poll an hour away) the cluster is not
	// read again: over fifteen poll intervals at most the one read the service's last status
	// change may still have queued (not one a poll interval).
	eventually(t, 60*time.Second, "the service's status settled at 0", func() (bool, string) {
		f.get(svc)
		return svc.Status.RunningCount == 0 && svc.Status.PendingCount == 0, fmt.Sprintf("%+v", svc.Status)
	})
	e.Wire().Reset()
	time.Sleep(4500 * time.Millisecond)
	if n := e.Wire().Calls()[ecsapi.OpDescribeClusters]; n > 1 {
		t.Errorf("DescribeClusters at rest: %d in 15 poll intervals, want at most 1", n)
	}
	got := &ecsv1alpha1.Cluster{}
	got.Name, got.Namespace = cl.Name, cl.Namespace
	f.get(got)
	if p := got.Status.PendingTasksCount; p == nil || *p != 0 {
		t.Errorf("status.pendingTasksCount %v, want 0", p)
	}
}

// clusterColumns is the row kubectl prints for Cluster name: the API server's Table of it, each
// column's name → its cell as text ("<nil>" for a cell without a value, which kubectl shows as
// "<none>").
func clusterColumns(t *testing.T, cfg *rest.Config, ns, name string) map[string]string {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := fmt.Sprintf("%s/apis/%s/namespaces/%s/clusters/%s", cfg.Host, ecsv1alpha1.GroupVersion, ns, name)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s as a Table: %v %s %s", u, err, resp.Status, body)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("Table of %s has %d rows, want 1", name, len(table.Rows))
	}
	out := map[string]string{}
	for i, col := range table.ColumnDefinitions {
		out[col.Name] = fmt.Sprint(table.Rows[0].Cells[i])
	}
	return out
}
