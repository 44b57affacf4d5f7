package cluster

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
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

	// members_cluster_types.go
	"capacityProviders": {Path: spectest.InPlace, Call: putCapacityProviders, Why: "also sent by CreateCluster"},
	"defaultCapacityProviderStrategy[].capacityProvider":                                     {Path: spectest.InPlace, Call: putCapacityProviders, Why: "also sent by CreateCluster"},
	"defaultCapacityProviderStrategy[].weight":                                               {Path: spectest.InPlace, Call: putCapacityProviders, Why: "also sent by CreateCluster"},
	"defaultCapacityProviderStrategy[].base":                                                 {Path: spectest.InPlace, Call: putCapacityProviders, Why: "also sent by CreateCluster"},
	"configuration.executeCommandConfiguration.kmsKeyId":                                     {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.executeCommandConfiguration.logging":                                      {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.executeCommandConfiguration.logConfiguration.cloudWatchLogGroupName":      {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.executeCommandConfiguration.logConfiguration.cloudWatchEncryptionEnabled": {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.executeCommandConfiguration.logConfiguration.s3BucketName":                {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.executeCommandConfiguration.logConfiguration.s3EncryptionEnabled":         {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.executeCommandConfiguration.logConfiguration.s3KeyPrefix":                 {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.managedStorageConfiguration.kmsKeyId":                                     {Path: spectest.InPlace, Call: "UpdateCluster"},
	"configuration.managedStorageConfiguration.fargateEphemeralStorageKmsKeyId":              {Path: spectest.InPlace, Call: "UpdateCluster"},
	"serviceConnectDefaults.namespace":                                                       {Path: spectest.InPlace, Call: "UpdateCluster", Why: "a name matches the namespace ARN ECS reports"},

	// nodeless's own (ClusterDefaults)
	"defaults.networkConfiguration.awsvpcConfiguration.subnets":        {Path: spectest.NotSent, Why: "nodeless's defaults for the cluster's Services and Tasks (managed.LaunchNetwork), sent in their CreateService / UpdateService / RunTask, never to the cluster"},
	"defaults.networkConfiguration.awsvpcConfiguration.securityGroups": {Path: spectest.NotSent, Why: "nodeless's defaults for the cluster's Services and Tasks (managed.LaunchNetwork), sent in their CreateService / UpdateService / RunTask, never to the cluster"},
	"defaults.networkConfiguration.awsvpcConfiguration.assignPublicIp": {Path: spectest.NotSent, Why: "nodeless's defaults for the cluster's Services and Tasks (managed.LaunchNetwork), sent in their CreateService / UpdateService / RunTask, never to the cluster"},
	"defaults.executionRoleArn":                                        {Path: spectest.NotSent, Why: "nodeless's default for the task definitions the cluster's Services and Tasks (and Pods) run: a cluster revision registered with it (ADR 0013), never sent to the cluster"},
	"defaults.logGroup":                                                {Path: spectest.NotSent, Why: "nodeless's default awslogs group of the task definitions the cluster's Services and Tasks (and Pods) run: a cluster revision registered with it (ADR 0013), never sent to the cluster"},
}

const putCapacityProviders = "PutClusterCapacityProviders"

// checkReachesCreate: a change of path (but the name and tags, which other checks cover) from a
// to b changes the settings or members CreateCluster sends.
func checkReachesCreate(t *testing.T, path string, a, b *ecsv1alpha1.Cluster) {
	t.Helper()
	if path == "clusterName" || strings.HasPrefix(path, "tags") || strings.HasPrefix(path, "defaults.") {
		return
	}
	ina, inb := &ecs.CreateClusterInput{Settings: settings(a.Spec.Settings)}, &ecs.CreateClusterInput{Settings: settings(b.Spec.Settings)}
	createMembers(&a.Spec, ina)
	createMembers(&b.Spec, inb)
	if cmp.Equal(ina, inb, cmp.Exporter(func(reflect.Type) bool { return true })) {
		t.Errorf("a change of %s does not reach CreateCluster", path)
	}
}

// inPlaceChanges names the spec members whose change an in-place call would send: settings,
// configuration, serviceConnectDefaults (UpdateCluster), capacityProviders and
// defaultCapacityProviderStrategy (PutClusterCapacityProviders).
func inPlaceChanges(c *ecsv1alpha1.Cluster, observed *ecstypes.Cluster) (update, put []string) {
	if !settingsMatch(c.Spec.Settings, observed.Settings) {
		update = append(update, "settings")
	}
	_, changed := UpdateMembers(&c.Spec, observed)
	_, put = CapacityProvidersChange(&c.Spec, observed)
	return append(update, changed...), put
}

// observeMembers sets on observed the members of members_cluster_types.go as ECS reports what
// CreateCluster sent for c.
func observeMembers(c *ecsv1alpha1.Cluster, observed *ecstypes.Cluster) {
	created := &ecs.CreateClusterInput{}
	createMembers(&c.Spec, created)
	observed.CapacityProviders, observed.DefaultCapacityProviderStrategy = created.CapacityProviders, created.DefaultCapacityProviderStrategy
	observed.Configuration = created.Configuration
	observed.ServiceConnectDefaults = &ecstypes.ClusterServiceConnectDefaults{Namespace: created.ServiceConnectDefaults.Namespace}
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
	observeMembers(base, observed)
	mirror(&base.Status, observed)
	base.Status.AppliedTags = inplace.Applied(base.Spec.Tags)
	if u, p := inPlaceChanges(base, observed); len(u)+len(p) > 0 {
		t.Fatalf("a Cluster with every member set and nothing changed sends UpdateCluster for %v, PutClusterCapacityProviders for %v", u, p)
	}
	if !TagChange(base, observed).Empty() || NameChange(base, base.ECSName()) != nil {
		t.Fatal("a Cluster with every member set and nothing changed is not at rest")
	}
	for path, m := range members {
		t.Run(path, func(t *testing.T) { checkMember(t, path, m, base, observed) })
	}
	t.Logf("Cluster spec members:\n%s", spectest.Table(members))
}

// checkMember changes path of base and checks that the change takes the path m says, and only it.
func checkMember(t *testing.T, path string, m spectest.Member, base *ecsv1alpha1.Cluster, observed *ecstypes.Cluster) {
	t.Helper()
	c := base.DeepCopy()
	spectest.Change(t, &c.Spec, path)
	update, put := inPlaceChanges(c, observed)
	resized := len(update)+len(put) > 0
	tags := TagChange(c, observed)
	renamed := NameChange(c, c.ECSName())
	checkReachesCreate(t, path, base, c)
	top := spectest.Top(path)
	switch m.Call {
	case "UpdateCluster":
		if !slices.Equal(update, []string{top}) || len(put) > 0 || !tags.Empty() || renamed != nil {
			t.Errorf("a change of %s: UpdateCluster for %v, PutClusterCapacityProviders for %v, tags %+v, refusal %+v; want only UpdateCluster for %s", path, update, put, tags, renamed, top)
		}
	case putCapacityProviders:
		if !slices.Equal(put, []string{top}) || len(update) > 0 || !tags.Empty() || renamed != nil {
			t.Errorf("a change of %s: PutClusterCapacityProviders for %v, UpdateCluster for %v, tags %+v, refusal %+v; want only PutClusterCapacityProviders for %s", path, put, update, tags, renamed, top)
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
			t.Errorf("a change of %s: in-place changes %v %v, tags %+v, refusal %+v; want none", path, update, put, tags, renamed)
		}
	default:
		t.Errorf("%s: no check for call %s", path, m.Call)
	}
}
