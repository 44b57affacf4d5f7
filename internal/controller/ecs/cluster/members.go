package cluster

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// The translation of the members of api/ecs/v1alpha1/members_cluster_types.go. CreateCluster
// carries them all; afterwards configuration and serviceConnectDefaults change in place with
// UpdateCluster, capacityProviders and defaultCapacityProviderStrategy with
// PutClusterCapacityProviders. Only what the spec sets is compared with what ECS reports.

// createMembers sets the ClusterMembers of s on in.
func createMembers(s *ecsv1alpha1.ClusterSpec, in *ecs.CreateClusterInput) {
	in.CapacityProviders = s.CapacityProviders
	in.DefaultCapacityProviderStrategy = managed.CapacityProviderStrategy(s.DefaultCapacityProviderStrategy)
	in.Configuration = configuration(s.Configuration)
	in.ServiceConnectDefaults = serviceConnectDefaults(s.ServiceConnectDefaults)
}

// syncMembers converges the ClusterMembers of an existing cluster and returns what ECS reports
// afterwards.
func (r *Reconciler) syncMembers(ctx context.Context, c *ecsv1alpha1.Cluster, observed *ecstypes.Cluster) (*ecstypes.Cluster, *reconciler.Problem) {
	name := aws.ToString(observed.ClusterName)
	update, changed := UpdateMembers(&c.Spec, observed)
	put, putChanged := CapacityProvidersChange(&c.Spec, observed)
	if update == nil && put == nil {
		return observed, nil
	}
	if managed.IsReadOnly(c, r.Options) {
		return observed, managed.ReadOnlyDrift(strings.Join(append(changed, putChanged...), ", ") + " differ from ECS cluster " + name)
	}
	if update != nil {
		out, err := r.ECS.UpdateCluster(ctx, update)
		if err != nil {
			return observed, ecscall.FromECS("updating "+strings.Join(changed, " and ")+" of cluster "+name, err)
		}
		ctrl.LoggerFrom(ctx).Info("updated ECS cluster in place", "arn", aws.ToString(observed.ClusterArn), "members", changed)
		observed = keepTags(out.Cluster, observed)
	}
	if put != nil {
		out, err := r.ECS.PutClusterCapacityProviders(ctx, put)
		if err != nil {
			return observed, ecscall.FromECS("putting the capacity providers of cluster "+name, err)
		}
		ctrl.LoggerFrom(ctx).Info("changed ECS cluster capacity providers", "arn", aws.ToString(observed.ClusterArn))
		observed = keepTags(out.Cluster, observed)
	}
	return observed, nil
}

// keepTags: an update's answer may leave out the tags that the describe included.
func keepTags(out, before *ecstypes.Cluster) *ecstypes.Cluster {
	if out == nil {
		return before
	}
	if out.Tags == nil {
		out.Tags = before.Tags
	}
	return out
}

// UpdateMembers is the UpdateCluster request that converges configuration and
// serviceConnectDefaults, with the names of the members that differ; nil when none does.
func UpdateMembers(s *ecsv1alpha1.ClusterSpec, observed *ecstypes.Cluster) (*ecs.UpdateClusterInput, []string) {
	in := &ecs.UpdateClusterInput{Cluster: observed.ClusterArn}
	var changed []string
	if want := configuration(s.Configuration); want != nil && !sdkEqual(want, configurationAsSent(want, observed.Configuration)) {
		in.Configuration = want
		changed = append(changed, "configuration")
	}
	if want := s.ServiceConnectDefaults; want != nil && !namespaceMatches(want.Namespace, observed.ServiceConnectDefaults) {
		in.ServiceConnectDefaults = serviceConnectDefaults(want)
		changed = append(changed, "serviceConnectDefaults")
	}
	if len(changed) == 0 {
		return nil, nil
	}
	return in, changed
}

// CapacityProvidersChange is the PutClusterCapacityProviders request that converges
// capacityProviders and defaultCapacityProviderStrategy, nil when both match. The call sets both
// lists: a member the spec leaves out keeps what ECS reports.
func CapacityProvidersChange(s *ecsv1alpha1.ClusterSpec, observed *ecstypes.Cluster) (*ecs.PutClusterCapacityProvidersInput, []string) {
	in := &ecs.PutClusterCapacityProvidersInput{
		Cluster: observed.ClusterArn, CapacityProviders: observed.CapacityProviders,
		DefaultCapacityProviderStrategy: observed.DefaultCapacityProviderStrategy,
	}
	var changed []string
	if len(s.CapacityProviders) > 0 && !sameSet(s.CapacityProviders, observed.CapacityProviders) {
		in.CapacityProviders = s.CapacityProviders
		changed = append(changed, "capacityProviders")
	}
	if want := managed.CapacityProviderStrategy(s.DefaultCapacityProviderStrategy); want != nil && !sameStrategy(want, observed.DefaultCapacityProviderStrategy) {
		in.DefaultCapacityProviderStrategy = want
		changed = append(changed, "defaultCapacityProviderStrategy")
	}
	if len(changed) == 0 {
		return nil, nil
	}
	if in.CapacityProviders == nil {
		in.CapacityProviders = []string{} // required: an empty list, not a missing member
	}
	if in.DefaultCapacityProviderStrategy == nil {
		in.DefaultCapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{}
	}
	return in, changed
}

func configuration(c *ecsv1alpha1.ClusterConfiguration) *ecstypes.ClusterConfiguration {
	if c == nil {
		return nil
	}
	out := &ecstypes.ClusterConfiguration{}
	if e := c.ExecuteCommandConfiguration; e != nil {
		out.ExecuteCommandConfiguration = &ecstypes.ExecuteCommandConfiguration{
			KmsKeyId: ecscall.OptString(e.KmsKeyId), Logging: ecstypes.ExecuteCommandLogging(e.Logging),
		}
		if l := e.LogConfiguration; l != nil {
			out.ExecuteCommandConfiguration.LogConfiguration = &ecstypes.ExecuteCommandLogConfiguration{
				CloudWatchLogGroupName: ecscall.OptString(l.CloudWatchLogGroupName), CloudWatchEncryptionEnabled: aws.ToBool(l.CloudWatchEncryptionEnabled),
				S3BucketName: ecscall.OptString(l.S3BucketName), S3EncryptionEnabled: aws.ToBool(l.S3EncryptionEnabled), S3KeyPrefix: ecscall.OptString(l.S3KeyPrefix),
			}
		}
	}
	if m := c.ManagedStorageConfiguration; m != nil {
		out.ManagedStorageConfiguration = &ecstypes.ManagedStorageConfiguration{
			KmsKeyId: ecscall.OptString(m.KmsKeyId), FargateEphemeralStorageKmsKeyId: ecscall.OptString(m.FargateEphemeralStorageKmsKeyId),
		}
	}
	return out
}

// configurationAsSent is what ECS reports, restricted to the parts want sets (ECS leaves out a
// part it was never given).
func configurationAsSent(want, got *ecstypes.ClusterConfiguration) *ecstypes.ClusterConfiguration {
	out := &ecstypes.ClusterConfiguration{}
	if got == nil {
		return out
	}
	if want.ExecuteCommandConfiguration != nil {
		out.ExecuteCommandConfiguration = got.ExecuteCommandConfiguration
	}
	if want.ManagedStorageConfiguration != nil {
		out.ManagedStorageConfiguration = got.ManagedStorageConfiguration
	}
	return out
}

func serviceConnectDefaults(d *ecsv1alpha1.ClusterServiceConnectDefaults) *ecstypes.ClusterServiceConnectDefaultsRequest {
	if d == nil {
		return nil
	}
	return &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String(d.Namespace)}
}

// namespaceMatches: ECS reports the namespace as the Cloud Map namespace's ARN whatever the
// request named it by, so a name is taken to match any ARN ECS reports.
func namespaceMatches(want string, got *ecstypes.ClusterServiceConnectDefaults) bool {
	if got == nil || got.Namespace == nil {
		return false
	}
	g := aws.ToString(got.Namespace)
	return want == g || (!strings.HasPrefix(want, "arn:") && strings.HasPrefix(g, "arn:"))
}

// sameSet compares two lists as sets.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// sameStrategy compares two strategies regardless of order.
func sameStrategy(a, b []ecstypes.CapacityProviderStrategyItem) bool {
	key := func(items []ecstypes.CapacityProviderStrategyItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s|%d|%d", aws.ToString(it.CapacityProvider), it.Weight, it.Base))
		}
		return out
	}
	return sameSet(key(a), key(b))
}

// sdkEqual compares SDK values member by member (their unexported noSmithyDocumentSerde too).
func sdkEqual(a, b any) bool {
	return cmp.Equal(a, b, cmp.Exporter(func(reflect.Type) bool { return true }))
}
