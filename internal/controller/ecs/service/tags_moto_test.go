package service

import (
	"context"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// TestInPlaceMoto, against moto_server: a tag change is a TagResource or UntagResource on the
// service and never an UpdateService; propagateTags and enableECSManagedTags reach UpdateService
// after create; tags others put on the service stay.
func TestInPlaceMoto(t *testing.T) {
	env := startMoto(t, 1)
	ctx := context.Background()
	r := env.reconciler()
	svc := newService("web", env.arns[0])
	svc.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
	syncN(t, r, svc, 1)
	arn := aws.String(svc.Status.ServiceArn)
	if _, err := env.api.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []ecstypes.Tag{{Key: aws.String("cost-center"), Value: aws.String("42")}}}); err != nil {
		t.Fatal(err)
	}
	tags := func() []string {
		t.Helper()
		out, err := env.api.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tag := range out.Tags {
			if aws.ToString(tag.Key) != ecscall.TagOwner {
				got = append(got, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
			}
		}
		sort.Strings(got)
		return got
	}

	steps := []struct {
		name   string
		change func()
		calls  map[string]int
		tags   []string
	}{
		{"tag value", func() { svc.Spec.Tags[0].Value = "b" }, map[string]int{ecsapi.OpTagResource: 1}, []string{"cost-center=42", "team=b"}},
		{"tag removed", func() { svc.Spec.Tags = nil }, map[string]int{ecsapi.OpUntagResource: 1}, []string{"cost-center=42"}},
		{"propagateTags", func() { svc.Spec.PropagateTags = "SERVICE" }, map[string]int{ecsapi.OpUpdateService: 1}, []string{"cost-center=42"}},
		{"enableECSManagedTags", func() { svc.Spec.EnableECSManagedTags = aws.Bool(true) }, map[string]int{ecsapi.OpUpdateService: 1}, []string{"cost-center=42"}},
	}
	for _, st := range steps {
		env.api.Reset()
		r.Poller.Invalidate(keyOf(svc)) // moto is described afresh: its answer is what counts
		st.change()
		syncN(t, r, svc, 3)
		calls := env.api.Calls()
		delete(calls, ecsapi.OpDescribeServices)
		if diff := cmp.Diff(st.calls, calls); diff != "" {
			t.Errorf("%s: writes (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.tags, tags()); diff != "" {
			t.Errorf("%s: tags (-want +got):\n%s", st.name, diff)
		}
	}
	out, err := env.api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c1"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describing: %v", err)
	}
	s := out.Services[0]
	if s.PropagateTags != ecstypes.PropagateTagsService || !s.EnableECSManagedTags {
		t.Errorf("ECS has propagateTags %q, enableECSManagedTags %v; want SERVICE, true", s.PropagateTags, s.EnableECSManagedTags)
	}
	if len(s.Deployments) != 1 {
		t.Errorf("%d deployments after in-place changes, want 1", len(s.Deployments))
	}
}

func keyOf(svc *ecsv1alpha1.Service) types.NamespacedName {
	return types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
}
