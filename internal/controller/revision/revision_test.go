package revision_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/controller/revision"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// input is a Fargate task definition of family whose container's image is image.
func input(family, image string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true)}},
	}
}

func revisionOf(t *testing.T, arn string) string {
	t.Helper()
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			return arn[i+1:]
		}
	}
	t.Fatalf("no revision in %q", arn)
	return ""
}

// TestEnsureMatch: Newest reuses only the newest revision (a spec changed back registers again),
// AnyActive reuses any ACTIVE one (rollout undo); both reuse the newest with the hash without
// registering.
func TestEnsureMatch(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		match revision.Match
		// revisions of v1, v2, v1 again
		want []string
	}{
		{revision.Newest, []string{"1", "2", "3"}},
		{revision.AnyActive, []string{"1", "2", "1"}},
	} {
		e := ecsmem.Start(t, ecsmem.Options{})
		api := ecsapi.NewCounting(e.Client)
		var got []string
		for _, h := range []string{"v1", "v2", "v1"} {
			rev, _, err := revision.Ensure(ctx, api, input("shop_deploy_web", "app:"+h), h, tc.match)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Hash() != h {
				t.Errorf("revision %s carries hash %q, want %q", rev.ARN(), rev.Hash(), h)
			}
			got = append(got, revisionOf(t, rev.ARN()))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("match %v: revisions (-want +got):\n%s", tc.match, diff)
		}
		// The newest carries v1 now: ensuring it again describes once and registers nothing.
		before := api.Count(ecsapi.OpRegisterTaskDefinition)
		if _, reg, err := revision.Ensure(ctx, api, input("shop_deploy_web", "app:v1"), "v1", tc.match); err != nil || reg {
			t.Errorf("match %v: ensuring the newest again: registered %v, err %v", tc.match, reg, err)
		}
		if n := api.Count(ecsapi.OpRegisterTaskDefinition) - before; n != 0 {
			t.Errorf("match %v: %d registrations for a known spec", tc.match, n)
		}
	}
}

// TestRegistryRegistersOnce: many callers of one template at once register one revision; later
// callers make no ECS call at all.
func TestRegistryRegistersOnce(t *testing.T) {
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	api := ecsapi.NewCounting(e.Client)
	reg := revision.NewRegistry(api, revision.AnyActive)
	var wg sync.WaitGroup
	arns := make([]string, 8)
	for i := range arns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			arn, _, release, err := reg.Ensure(ctx, input("shop_deploy_web", "app:1"), "h1")
			if err != nil {
				t.Error(err)
				return
			}
			release()
			arns[i] = arn
		}()
	}
	wg.Wait()
	for _, a := range arns {
		if a != arns[0] {
			t.Fatalf("callers got different revisions: %v", arns)
		}
	}
	if n := e.Served(ecsapi.OpRegisterTaskDefinition); n != 1 {
		t.Errorf("RegisterTaskDefinition served %d times, want 1", n)
	}
	calls := (api.Reads() + api.Writes())
	if _, _, release, err := reg.Ensure(ctx, input("shop_deploy_web", "app:1"), "h1"); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
	if n := (api.Reads() + api.Writes()) - calls; n != 0 {
		t.Errorf("a known template cost %d ECS calls, want 0", n)
	}
}

// TestRegistryCollect: Collect keeps the newest N, the revisions in use and those held between
// Ensure and release, deregisters the rest once, and a collected template registers again.
func TestRegistryCollect(t *testing.T) {
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	reg := revision.NewRegistry(e.Client, revision.AnyActive)
	arn := map[string]string{}
	var held func()
	for _, h := range []string{"a", "b", "c", "d", "e"} {
		a, _, release, err := reg.Ensure(ctx, input("ns_job_x", "app:"+h), h)
		if err != nil {
			t.Fatal(err)
		}
		arn[h] = a
		if h == "b" {
			held = release
			continue
		}
		release()
	}
	if diff := cmp.Diff([]string{"ns_job_x"}, reg.Dirty()); diff != "" {
		t.Errorf("dirty families (-want +got):\n%s", diff)
	}
	inUse := func(a string) bool { return a == arn["a"] }
	gone, err := reg.Collect(ctx, "ns_job_x", 2, inUse)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{arn["c"]}, gone); diff != "" {
		t.Errorf("deregistered (-want +got):\n%s", diff)
	}
	if len(reg.Dirty()) != 0 {
		t.Errorf("still dirty after Collect: %v", reg.Dirty())
	}
	held()
	reg.Touch("ns_job_x")
	gone, err = reg.Collect(ctx, "ns_job_x", 2, inUse)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{arn["b"]}, gone); diff != "" {
		t.Errorf("deregistered once released (-want +got):\n%s", diff)
	}
	again, registered, release, err := reg.Ensure(ctx, input("ns_job_x", "app:c"), "c")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if !registered || again == arn["c"] {
		t.Errorf("a collected template: got %s (registered %v), want a new revision", again, registered)
	}
}
