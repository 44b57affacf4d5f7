package taskdefinition

import (
	"context"
	"sort"
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

// TestTagsInPlaceMoto: a tag change registers no revision; it tags every active revision in place,
// leaves the spec-hash tag alone, and a steady state makes no call. An object whose revision was
// registered under the legacy hash (tags included) is re-keyed, not registered again.
func TestTagsInPlaceMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	r := &Reconciler{
		ECS: api, Recorder: record.NewFakeRecorder(100), Options: managed.Options{KeepRevisions: 5}.WithDefaults(),
		InUse: func(context.Context, *ecsv1alpha1.TaskDefinition) (map[string]bool, error) { return nil, nil },
	}
	ctx := context.Background()
	sync := func(td *ecsv1alpha1.TaskDefinition) {
		t.Helper()
		if p := r.Sync(ctx, td); p != nil {
			t.Fatalf("sync: %v", p)
		}
	}
	tagsOf := func(arn string) []string {
		t.Helper()
		out, err := api.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tag := range out.Tags {
			if k := aws.ToString(tag.Key); k != ecscall.TagSpecHash {
				got = append(got, k+"="+aws.ToString(tag.Value))
			}
		}
		sort.Strings(got)
		return got
	}

	td := newTD("web", "nginx:1")
	td.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
	sync(td)
	td.Spec.ContainerDefinitions[0].Image = "nginx:2"
	sync(td)
	if len(td.Status.ActiveRevisions) != 2 {
		t.Fatalf("active revisions %+v, want 2", td.Status.ActiveRevisions)
	}

	steps := []struct {
		name string
		tags []ecsv1alpha1.Tag
		want map[string]int
		on   []string
	}{
		{"value changed", []ecsv1alpha1.Tag{{Key: "team", Value: "b"}, {Key: "env", Value: "prod"}},
			map[string]int{ecsapi.OpListTagsForResource: 2, ecsapi.OpTagResource: 2}, []string{"env=prod", "team=b"}},
		{"steady", []ecsv1alpha1.Tag{{Key: "team", Value: "b"}, {Key: "env", Value: "prod"}},
			map[string]int{}, []string{"env=prod", "team=b"}},
		{"one removed", []ecsv1alpha1.Tag{{Key: "team", Value: "b"}},
			map[string]int{ecsapi.OpListTagsForResource: 2, ecsapi.OpUntagResource: 2}, []string{"team=b"}},
	}
	for _, st := range steps {
		api.Reset()
		stale := td.Status.DeepCopy()
		hash := td.Status.SpecHash
		td.Spec.Tags = st.tags
		sync(td)
		sync(td)
		if diff := cmp.Diff(st.want, api.Calls()); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", st.name, diff)
		}
		// A reconcile that reads the status as it was before (an informer cache behind the
		// controller's own write) reads the tags again but writes nothing.
		api.Reset()
		fresh := td.Status
		td.Status = *stale
		sync(td)
		if w := api.Writes(); w != 0 {
			t.Errorf("%s: a reconcile from the stale status wrote %d times: %v", st.name, w, api.Calls())
		}
		td.Status = fresh
		if td.Status.SpecHash != hash || td.Status.Revision != 2 {
			t.Errorf("%s: status moved to revision %d, hash %s", st.name, td.Status.Revision, td.Status.SpecHash)
		}
		for _, rev := range td.Status.ActiveRevisions {
			if diff := cmp.Diff(st.on, tagsOf(rev.TaskDefinitionArn)); diff != "" {
				t.Errorf("%s: tags of %s (-want +got):\n%s", st.name, rev.TaskDefinitionArn, diff)
			}
		}
	}

	// An object registered by an earlier nodeless, whose hash covered the tags.
	old := newTD("legacy", "nginx:1")
	old.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
	legacy, err := legacySpecHash(&old.Spec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.RegisterTaskDefinition(ctx, RegisterInput(old, legacy))
	if err != nil {
		t.Fatal(err)
	}
	rec(old, out.TaskDefinition, legacy)
	// Read-only: the status is re-keyed (no "spec differs"), ECS is not written.
	ro := old.DeepCopy()
	ro.Annotations = map[string]string{ecsv1alpha1.AnnotationReadOnly: "true"}
	api.Reset()
	sync(ro)
	if want, _ := SpecHash(&ro.Spec); ro.Status.SpecHash != want || api.Writes() != 0 {
		t.Errorf("read-only after the upgrade: hash %s (want %s), writes %v", ro.Status.SpecHash, want, api.Calls())
	}
	api.Reset()
	sync(old)
	sync(old)
	if n := api.Count(ecsapi.OpRegisterTaskDefinition); n != 0 {
		t.Errorf("RegisterTaskDefinition calls after the upgrade = %d, want 0", n)
	}
	if want, _ := SpecHash(&old.Spec); old.Status.SpecHash != want {
		t.Errorf("status hash %s, want the current hash %s", old.Status.SpecHash, want)
	}
	// Losing the status after the re-key re-attaches through the re-keyed tag.
	api.Reset()
	old.Status = ecsv1alpha1.TaskDefinitionStatus{}
	sync(old)
	if n := api.Count(ecsapi.OpRegisterTaskDefinition); n != 0 || old.Status.Revision != 1 {
		t.Errorf("after losing the status: %d registrations, revision %d; want 0 and 1", n, old.Status.Revision)
	}
}
