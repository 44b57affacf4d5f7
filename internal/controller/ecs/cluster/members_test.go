package cluster

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/inplace"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/spectest"
)

// members classifies every member of ClusterSpec by the path its change takes.
var members = map[string]spectest.Member{
	"clusterName":      {Path: spectest.CreateOnly, Call: "CreateCluster", Why: "defaults to metadata.name; ECS cannot rename a cluster: CRD rule and RecreateRequired"},
	"settings[].name":  {Path: spectest.InPlace, Call: "UpdateCluster"},
	"settings[].value": {Path: spectest.InPlace, Call: "UpdateCluster"},
	"tags[].key":       {Path: spectest.InPlace, Call: "TagResource / UntagResource", Why: "also sent by CreateCluster"},
	"tags[].value":     {Path: spectest.InPlace, Call: "TagResource / UntagResource", Why: "also sent by CreateCluster"},
	"defaults.networkConfiguration.awsvpcConfiguration.subnets":        {Path: spectest.NotSent, Why: "nodeless's defaults for the cluster's Services and Tasks (managed.LaunchNetwork), sent in their CreateService / UpdateService / RunTask, never to the cluster"},
	"defaults.networkConfiguration.awsvpcConfiguration.securityGroups": {Path: spectest.NotSent, Why: "nodeless's defaults for the cluster's Services and Tasks (managed.LaunchNetwork), sent in their CreateService / UpdateService / RunTask, never to the cluster"},
	"defaults.networkConfiguration.awsvpcConfiguration.assignPublicIp": {Path: spectest.NotSent, Why: "nodeless's defaults for the cluster's Services and Tasks (managed.LaunchNetwork), sent in their CreateService / UpdateService / RunTask, never to the cluster"},
}

// TestSpecMembers: every member of ClusterSpec is classified, and for a Cluster with every member
// set: nothing is sent at rest; a settings change is an UpdateCluster, a tag change a
// TagResource / UntagResource change, a name change a refusal naming the member.
func TestSpecMembers(t *testing.T) {
	spectest.Classified(reflect.TypeFor[ecsv1alpha1.ClusterSpec](), members, t.Errorf)
	base := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: "default"}}
	spectest.Fill(t, &base.Spec)
	observed := &ecstypes.Cluster{
		ClusterArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/" + base.ECSName()), ClusterName: aws.String(base.ECSName()),
		Status: aws.String("ACTIVE"), Settings: settings(base.Spec.Settings), Tags: managed.Tags(base.Spec.Tags),
	}
	mirror(&base.Status, observed)
	base.Status.AppliedTags = inplace.Applied(base.Spec.Tags)
	if !settingsMatch(base.Spec.Settings, observed.Settings) || !TagChange(base, observed).Empty() || NameChange(base, base.ECSName()) != nil {
		t.Fatal("a Cluster with every member set and nothing changed is not at rest")
	}
	for path, m := range members {
		t.Run(path, func(t *testing.T) {
			c := base.DeepCopy()
			spectest.Change(t, &c.Spec, path)
			resized := !settingsMatch(c.Spec.Settings, observed.Settings)
			tags := TagChange(c, observed)
			renamed := NameChange(c, c.ECSName())
			switch m.Call {
			case "UpdateCluster":
				if !resized || !tags.Empty() || renamed != nil {
					t.Errorf("a change of %s: settings change %v, tags %+v, refusal %+v; want only a settings change", path, resized, tags, renamed)
				}
				if cmp.Equal(settings(base.Spec.Settings), settings(c.Spec.Settings), cmp.Exporter(func(reflect.Type) bool { return true })) {
					t.Errorf("a change of %s does not reach UpdateCluster", path)
				}
			case "TagResource / UntagResource":
				if tags.Empty() || resized || renamed != nil {
					t.Errorf("a change of %s: tags %+v, settings change %v, refusal %+v; want only a tag change", path, tags, resized, renamed)
				}
			case "CreateCluster":
				if renamed == nil || !strings.Contains(renamed.Message("Cluster"), "spec."+path) {
					t.Errorf("a change of %s is not refused by name: %+v", path, renamed)
				}
				if !spectest.RefusedByCRD(t, "Cluster", "spec."+path) {
					t.Errorf("the CRD has no rule refusing a change of %s", path)
				}
			case "":
				// Not sent to the cluster (its defaults): a change is no change of the ECS cluster.
				if resized || !tags.Empty() || renamed != nil {
					t.Errorf("a change of %s: settings change %v, tags %+v, refusal %+v; want none", path, resized, tags, renamed)
				}
			default:
				t.Errorf("%s: no check for call %s", path, m.Call)
			}
		})
	}
	t.Logf("Cluster spec members:\n%s", spectest.Table(members))
}
