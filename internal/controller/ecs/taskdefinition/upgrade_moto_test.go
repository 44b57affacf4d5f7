package taskdefinition

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/record"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
)

// TestRestoreArnsMoto: a TaskDefinition whose status an earlier nodeless wrote with the members
// spelled taskDefinitionARN (pruned since by the API server: family, revisions and spec hashes are
// left) registers no revision, gets its ARNs back and is Ready; with tags, whose legacy hash
// covered them, its newest revision is re-keyed (one TagResource) and nothing else is written.
func TestRestoreArnsMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	r := &Reconciler{
		ECS: api, Recorder: record.NewFakeRecorder(100), Options: managed.Options{KeepRevisions: 5}.WithDefaults(),
		InUse: func(context.Context, *ecsv1alpha1.TaskDefinition) (map[string]bool, error) { return nil, nil },
	}
	ctx := context.Background()
	tests := []struct {
		name, family string
		tags         []ecsv1alpha1.Tag
		wantWrites   map[string]int
	}{
		{"without tags", "restore-plain", nil, map[string]int{}},
		{"with tags", "restore-tagged", []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}, map[string]int{ecsapi.OpTagResource: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := newTD(tt.family, "nginx:1")
			td.Spec.Tags = tt.tags
			// Two revisions registered by the earlier nodeless, under its hash (tags included).
			for _, image := range []string{"nginx:1", "nginx:2"} {
				td.Spec.ContainerDefinitions[0].Image = image
				legacy, err := legacySpecHash(&td.Spec)
				if err != nil {
					t.Fatal(err)
				}
				out, err := api.RegisterTaskDefinition(ctx, RegisterInput(td, legacy))
				if err != nil {
					t.Fatal(err)
				}
				rec(td, out.TaskDefinition, legacy)
			}
			want := td.Status.DeepCopy()
			td.Status.TaskDefinitionArn = ""
			for i := range td.Status.ActiveRevisions {
				td.Status.ActiveRevisions[i].TaskDefinitionArn = ""
			}

			api.Reset()
			for range 2 {
				if p := r.Sync(ctx, td); p != nil {
					t.Fatalf("sync: %v", p)
				}
			}
			writes := map[string]int{}
			for op, n := range api.Calls() {
				if ecsapi.IsWrite(op) {
					writes[op] = n
				}
			}
			if diff := cmp.Diff(tt.wantWrites, writes); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if td.Status.TaskDefinitionArn != want.TaskDefinitionArn || td.Status.Revision != want.Revision {
				t.Errorf("newest revision %d %s, want %d %s", td.Status.Revision, td.Status.TaskDefinitionArn, want.Revision, want.TaskDefinitionArn)
			}
			for i, rev := range td.Status.ActiveRevisions {
				if rev.TaskDefinitionArn != want.ActiveRevisions[i].TaskDefinitionArn {
					t.Errorf("active revision %d: ARN %q, want %q", rev.Revision, rev.TaskDefinitionArn, want.ActiveRevisions[i].TaskDefinitionArn)
				}
			}
			if ready, _ := r.Readiness(td); !ready.Ready {
				t.Errorf("not Ready: %+v", ready)
			}
			hash, _ := SpecHash(&td.Spec)
			out, err := api.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(td.Status.TaskDefinitionArn)})
			if err != nil {
				t.Fatal(err)
			}
			if td.Status.SpecHash != hash || ecscall.TagValue(out.Tags, ecscall.TagSpecHash) != hash {
				t.Errorf("spec hash in status %s, on the revision %s; want %s", td.Status.SpecHash, ecscall.TagValue(out.Tags, ecscall.TagSpecHash), hash)
			}
		})
	}
}

// TestRestoreArnsFamilyGone: when the family has no ACTIVE revision left, the status of the
// earlier nodeless is dropped and the spec registered anew.
func TestRestoreArnsFamilyGone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	r := &Reconciler{
		ECS: api, Recorder: record.NewFakeRecorder(100), Options: managed.Options{}.WithDefaults(),
		InUse: func(context.Context, *ecsv1alpha1.TaskDefinition) (map[string]bool, error) { return nil, nil },
	}
	td := newTD("gone", "nginx:1")
	hash, _ := SpecHash(&td.Spec)
	td.Status = ecsv1alpha1.TaskDefinitionStatus{Family: "gone", Revision: 4, SpecHash: hash,
		ActiveRevisions: []ecsv1alpha1.TaskDefinitionRevision{{Revision: 4, SpecHash: hash}}}
	if p := r.Sync(context.Background(), td); p != nil {
		t.Fatalf("sync: %v", p)
	}
	if n := api.Count(ecsapi.OpRegisterTaskDefinition); n != 1 || td.Status.Revision != 1 || len(td.Status.ActiveRevisions) != 1 {
		t.Errorf("%d registrations, status %+v; want one new revision 1", n, td.Status)
	}
}
