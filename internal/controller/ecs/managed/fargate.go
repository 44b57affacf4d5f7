package managed

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// ReasonFargateRefused: the spec has what Fargate refuses (package fargate); the message names
// the field and what to change. Nothing was sent to ECS.
const ReasonFargateRefused = "FargateRefused"

// LaunchSpec is what Fargate's launch rules read of a Service's or Task's spec.
type LaunchSpec struct {
	Namespace            string
	Cluster              string
	ClusterRef           *ecsv1alpha1.LocalObjectReference
	LaunchType           string
	PlatformVersion      string
	NetworkConfiguration *ecsv1alpha1.NetworkConfiguration
}

// LaunchNetwork returns the networkConfiguration a Service or Task launches with: its own spec's,
// completed member by member from its Cluster object's spec.defaults and then from the
// controller's defaults (flags) — nil when none of them gives a subnet. It refuses, before any
// ECS call, what Fargate would refuse of the launch (platformVersion, the number of subnets and
// security groups, assignPublicIp), naming the spec field; nil problem when it would launch.
func LaunchNetwork(ctx context.Context, c client.Reader, s LaunchSpec, flags fargate.Defaults) (*ecsv1alpha1.NetworkConfiguration, *reconciler.Problem) {
	cluster, err := clusterDefaults(ctx, c, s)
	if err != nil {
		return nil, reconciler.AsProblem(err)
	}
	d := cluster.Or(flags)
	var own *fargate.AwsVpcConfiguration
	if nc := s.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		a := nc.AwsvpcConfiguration
		own = &fargate.AwsVpcConfiguration{Subnets: a.Subnets, SecurityGroups: a.SecurityGroups, AssignPublicIp: a.AssignPublicIp}
	}
	net := d.Network(own)
	l := fargate.Launch{LaunchType: optional(s.LaunchType), PlatformVersion: optional(s.PlatformVersion)}
	if net != nil {
		l.NetworkConfiguration = &fargate.NetworkConfiguration{AwsvpcConfiguration: net}
	}
	if err := fargate.CheckLaunch(&l, nil, fargate.LaunchRules{}); err != nil {
		return nil, FargateProblem(err, "spec.")
	}
	if net == nil {
		return nil, nil
	}
	return &ecsv1alpha1.NetworkConfiguration{AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{
		Subnets: net.Subnets, SecurityGroups: net.SecurityGroups, AssignPublicIp: net.AssignPublicIp,
	}}, nil
}

// CheckTaskDefinition refuses, before any ECS call, a TaskDefinition spec Fargate would refuse
// (package fargate: its FARGATE and awsvpc rules, container sizes), naming the spec field. The
// spec's JSON spells members as ECS does, which is what the rules read. The execution role rules
// are left to the endpoint: a local data plane does without a role, ECS refuses by name.
func CheckTaskDefinition(spec *ecsv1alpha1.TaskDefinitionSpec) *reconciler.Problem {
	b, err := json.Marshal(spec)
	if err != nil {
		return reconciler.AsProblem(fmt.Errorf("encoding the spec: %w", err))
	}
	var td fargate.TaskDefinition
	if err := json.Unmarshal(b, &td); err != nil {
		return reconciler.AsProblem(fmt.Errorf("reading the spec as a task definition: %w", err))
	}
	if err := fargate.CheckTaskDefinition(&td, fargate.TaskDefinitionRules{}); err != nil {
		return FargateProblem(err, "spec.")
	}
	return nil
}

// FargateProblem is the condition of a Fargate refusal: reason FargateRefused, the field under
// prefix, ECS's message and what to change. It waits for a change of the object.
func FargateProblem(err error, prefix string) *reconciler.Problem {
	fe := fargate.As(err)
	if fe == nil {
		return reconciler.AsProblem(err)
	}
	fields := strings.Split(fe.Field, ", ")
	for i, f := range fields {
		fields[i] = prefix + f
	}
	msg := fmt.Sprintf("%s: Fargate refuses it (%s: %s)", strings.Join(fields, ", "), fe.Type, fe.Message)
	if fe.Fix != "" {
		msg += "; " + fe.Fix
	}
	return &reconciler.Problem{Reason: ReasonFargateRefused, Message: msg}
}

// RecordRefusal emits p as a Warning Event on obj when it is a Fargate refusal, so that `kubectl
// describe` and `kubectl get events` show it beside the Synced condition.
func RecordRefusal(rec record.EventRecorder, obj client.Object, p *reconciler.Problem) *reconciler.Problem {
	if p != nil && p.Reason == ReasonFargateRefused && rec != nil {
		rec.Event(obj, corev1.EventTypeWarning, p.Reason, p.Message)
	}
	return p
}

// clusterDefaults are the spec.defaults of the Cluster object s names: by clusterRef, or the
// Cluster in s's namespace whose ECS name (or ARN) is s.Cluster ("default" when empty). No such
// object: no defaults.
func clusterDefaults(ctx context.Context, c client.Reader, s LaunchSpec) (fargate.Defaults, error) {
	obj, err := clusterObject(ctx, c, s)
	if obj != nil {
		// Read from the cache as stored: its defaults may use the other controller's spellings.
		obj = obj.DeepCopy()
		obj.NormalizeAliases()
	}
	if err != nil || obj == nil || obj.Spec.Defaults == nil || obj.Spec.Defaults.NetworkConfiguration == nil ||
		obj.Spec.Defaults.NetworkConfiguration.AwsvpcConfiguration == nil {
		return fargate.Defaults{}, err
	}
	a := obj.Spec.Defaults.NetworkConfiguration.AwsvpcConfiguration
	return fargate.Defaults{Subnets: a.Subnets, SecurityGroups: a.SecurityGroups, AssignPublicIp: a.AssignPublicIp}, nil
}

func clusterObject(ctx context.Context, c client.Reader, s LaunchSpec) (*ecsv1alpha1.Cluster, error) {
	if c == nil { // a reconciler without a Kubernetes API (unit tests against ECS alone)
		return nil, nil
	}
	if s.ClusterRef != nil {
		obj := &ecsv1alpha1.Cluster{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: s.ClusterRef.Name}, obj); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
		return obj, nil
	}
	name := s.Cluster
	if name == "" {
		name = DefaultCluster
	}
	var list ecsv1alpha1.ClusterList
	if err := c.List(ctx, &list, client.InNamespace(s.Namespace)); err != nil {
		return nil, fmt.Errorf("listing the Clusters of namespace %s: %w", s.Namespace, err)
	}
	for i := range list.Items {
		if cl := &list.Items[i]; cl.ECSName() == name || (cl.Status.ClusterArn != "" && cl.Status.ClusterArn == name) {
			return cl, nil
		}
	}
	return nil, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
