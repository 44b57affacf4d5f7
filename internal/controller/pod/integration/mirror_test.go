package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

// entries lists the names of the mirror's secrets of the test's namespace, through a client of
// its own (its ListSecrets calls reach the wire counts).
func (e *env) entries(ctx context.Context) []string {
	e.t.Helper()
	sm, err := secretsapi.NewClient(ctx, ecsapi.Options{Endpoint: e.ecs.Endpoint, Region: e.ecs.Region,
		AccessKeyID: e.ecs.Credentials.AccessKeyID, SecretAccessKey: e.ecs.Credentials.SecretAccessKey})
	if err != nil {
		e.t.Fatal(err)
	}
	prefix := "nodeless/nodeless/" + e.ns + "/"
	in := &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}}}
	var out []string
	p := secretsmanager.NewListSecretsPaginator(sm, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			e.t.Fatalf("listing the mirror: %v", err)
		}
		for _, s := range page.SecretList {
			out = append(out, strings.TrimPrefix(aws.ToString(s.Name), prefix))
		}
	}
	return out
}

func has(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// TestDeletedSecretLeavesMirror: when a Secret a running Pod read is deleted, its entry leaves
// Secrets Manager at once (the sweep, an hour here, is not waited for); the running Pod keeps
// running with the values it started with; deleting a Secret that was never mirrored costs no
// call; and a restarted controller does not make the entry again.
func TestDeletedSecretLeavesMirror(t *testing.T) {
	e := start(t, nil)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-secret", Namespace: e.ns}, Data: map[string][]byte{"password": []byte("s3cret")}}
	unused := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unused", Namespace: e.ns}, Data: map[string][]byte{"k": []byte("v")}}
	for _, s := range []*corev1.Secret{secret, unused} {
		if err := e.c.Create(e.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	e.create(e.newPod("web", func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "web-secret"}, Key: "password"}}}}
	}))
	e.waitPod("web", time.Minute, "Running", running)
	if got := e.entries(e.ctx); !has(got, "secret/web-secret") {
		t.Fatalf("entries of a running pod's secret: %v, want secret/web-secret among them", got)
	}

	// One worker: the unused Secret's delete is handled before the used one's.
	e.ecs.Wire().Reset()
	for _, s := range []*corev1.Secret{unused, secret} {
		if err := e.c.Delete(e.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	e.eventually(30*time.Second, "the deleted secret's entry gone", func() (bool, string) {
		got := e.entries(e.ctx)
		return !has(got, "secret/web-secret"), strings.Join(got, ",")
	})
	calls := e.ecs.Wire().Calls()
	if n := calls["secretsmanager.DeleteSecret"]; n != 1 {
		t.Errorf("%d DeleteSecret calls, want 1 (the one part of the deleted secret's entry; none for the unused one): %v", n, calls)
	}
	if n := calls["secretsmanager.DescribeSecret"] + calls["secretsmanager.CreateSecret"]; n != 0 {
		t.Errorf("%d DescribeSecret/CreateSecret calls on deletion, want 0: %v", n, calls)
	}
	if got := e.get("web"); !running(got) {
		t.Errorf("the running pod after its secret was deleted: %s", describe(got))
	}

	// A restart: the first sweep lists the mirror; nothing makes the entry again.
	e.stop()
	e.ecs.Wire().Reset()
	e.run()
	e.eventually(30*time.Second, "the restarted controller's first sweep", func() (bool, string) {
		calls := e.ecs.Wire().Calls()
		return calls["secretsmanager.ListSecrets"] > 0, ""
	})
	e.waitPod("web", time.Minute, "Running after the restart", running)
	if got := e.entries(e.ctx); has(got, "secret/web-secret") {
		t.Errorf("entries after a restart: %v, want no secret/web-secret", got)
	}
	if n := e.ecs.Wire().Calls()["secretsmanager.CreateSecret"]; n != 0 {
		t.Errorf("%d CreateSecret calls after the restart, want 0", n)
	}
}
