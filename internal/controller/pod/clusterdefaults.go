package pod

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// Event reasons of the Cluster object's defaults.
const (
	// ReasonClusterDefaults: the Pod's task takes members of the spec.defaults of the Cluster
	// object of the Pods' ECS cluster (the message names the object and the members).
	ReasonClusterDefaults = "ClusterDefaults"
	// ReasonClusterDefaultsAmbiguous: several Cluster objects name the Pods' ECS cluster; the
	// Pod takes the defaults of none of them (the message names them).
	ReasonClusterDefaultsAmbiguous = "ClusterDefaultsAmbiguous"
	// ReasonNoExecutionRole: the Pods log with awslogs, but neither the controller
	// (--pod-execution-role-arn) nor the Cluster object's spec.defaults.executionRoleArn gives
	// the task execution role Fargate needs to write the logs; the Pod waits for one.
	ReasonNoExecutionRole = "NoExecutionRole"
)

// noRoleRetry is how often a Pod waiting for an execution role (ReasonNoExecutionRole) looks at
// the Cluster objects again.
const noRoleRetry = 10 * time.Second

// needsExecutionRole is the Problem of a Pod whose task would log with awslogs without a task
// execution role (Fargate refuses such a task definition), nil when it has one or logs locally.
func (o Options) needsExecutionRole() *reconciler.Problem {
	if o.Logs == nil || o.ExecutionRoleArn != "" {
		return nil
	}
	return &reconciler.Problem{Reason: ReasonNoExecutionRole, RequeueAfter: noRoleRetry, Message: fmt.Sprintf(
		"the containers log to CloudWatch Logs (awslogs, group %s) and Fargate writes them with a task execution role allowed "+
			"logs:CreateLogStream and logs:PutLogEvents: set spec.defaults.executionRoleArn on the Cluster object of ECS cluster %s, "+
			"or start the controller with --pod-execution-role-arn (or --pod-log-driver=none)", o.Logs.Group, o.Cluster)}
}

// clusterDefaults are the spec.defaults of the Cluster object, in any namespace, whose ECS
// cluster is the one the Pods' tasks run in (Options.Cluster by name, or its ARN): where its
// subnets, security groups, assignPublicIp, execution role and log group come from under
// `nodeless controller` on a cluster where that object exists, before the --pod-* and --default-*
// flags (the manifest, a Pod, names none of them). from names the object ("" when none applies);
// ambiguous lists the objects when several name the cluster (none applies then).
func (r *Reconciler) clusterDefaults(ctx context.Context) (d fargate.Defaults, from string, ambiguous []string, err error) {
	if r.client == nil {
		return d, "", nil, nil
	}
	var list ecsv1alpha1.ClusterList
	if err := r.client.List(ctx, &list); err != nil {
		if meta.IsNoMatchError(err) { // no Cluster CRD: no Cluster objects
			return d, "", nil, nil
		}
		return d, "", nil, fmt.Errorf("listing the Cluster objects: %w", err)
	}
	arn := r.knownClusterArn()
	var found []*ecsv1alpha1.Cluster
	for i := range list.Items {
		cl := list.Items[i].DeepCopy()
		cl.NormalizeAliases() // as stored: the defaults may use the other controller's spellings
		if cl.ECSName() == r.opts.Cluster || (arn != "" && cl.Status.ClusterArn == arn) {
			found = append(found, cl)
		}
	}
	switch len(found) {
	case 0:
		return d, "", nil, nil
	case 1:
	default:
		for _, cl := range found {
			ambiguous = append(ambiguous, cl.Namespace+"/"+cl.Name)
		}
		slices.Sort(ambiguous)
		return d, "", ambiguous, nil
	}
	cl := found[0]
	if def := cl.Spec.Defaults; def != nil {
		d.ExecutionRoleArn, d.LogGroup = def.ExecutionRoleArn, def.LogGroup
		if nc := def.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
			a := nc.AwsvpcConfiguration
			d.Subnets, d.SecurityGroups, d.AssignPublicIp = a.Subnets, a.SecurityGroups, a.AssignPublicIp
		}
	}
	return d, cl.Namespace + "/" + cl.Name, nil, nil
}

func (r *Reconciler) knownClusterArn() string {
	r.clusterMu.Lock()
	defer r.clusterMu.Unlock()
	return r.clusterArn
}

// withClusterDefaults returns o with the members d sets in place of o's (the flags'), member by
// member, and the names of the members that changed. The log group applies where the Pods log
// with awslogs (Options.Logs): a Cluster does not turn CloudWatch Logs on.
func (o Options) withClusterDefaults(d fargate.Defaults) (Options, []string) {
	var took []string
	if len(d.Subnets) > 0 && !slices.Equal(d.Subnets, o.Subnets) {
		o.Subnets, took = d.Subnets, append(took, "subnets")
	}
	if len(d.SecurityGroups) > 0 && !slices.Equal(d.SecurityGroups, o.SecurityGroups) {
		o.SecurityGroups, took = d.SecurityGroups, append(took, "securityGroups")
	}
	if d.AssignPublicIp != "" && (d.AssignPublicIp == "ENABLED") != o.AssignPublicIP {
		o.AssignPublicIP, took = d.AssignPublicIp == "ENABLED", append(took, "assignPublicIp")
	}
	if d.ExecutionRoleArn != "" && d.ExecutionRoleArn != o.ExecutionRoleArn {
		o.ExecutionRoleArn, took = d.ExecutionRoleArn, append(took, "executionRoleArn")
	}
	if d.LogGroup != "" && o.Logs != nil && d.LogGroup != o.Logs.Group {
		l := *o.Logs
		l.Group = d.LogGroup
		o.Logs, took = &l, append(took, "logGroup")
	}
	return o, took
}

// effectiveOptions are the Options a Pod's task starts with: the controller's, completed by the
// Cluster object's defaults (clusterDefaults), with an Event on the Pod saying which members its
// task takes from which object, or that several objects name the cluster.
func (r *Reconciler) effectiveOptions(ctx context.Context, pod *corev1.Pod, st *podState) (Options, error) {
	d, from, ambiguous, err := r.clusterDefaults(ctx)
	if err != nil {
		return r.opts, err
	}
	if ambiguous != nil {
		r.emit(pod, st, podEvent{corev1.EventTypeWarning, ReasonClusterDefaultsAmbiguous,
			fmt.Sprintf("Cluster objects %s all name ECS cluster %s: the task takes the defaults of none of them (the flags'); keep one", strings.Join(ambiguous, ", "), r.opts.Cluster),
			"cluster-defaults-ambiguous"})
		return r.opts, nil
	}
	eff, took := r.opts.withClusterDefaults(d)
	if len(took) > 0 {
		r.emit(pod, st, podEvent{corev1.EventTypeNormal, ReasonClusterDefaults,
			fmt.Sprintf("The task takes %s from the spec.defaults of Cluster %s (ECS cluster %s)", strings.Join(took, ", "), from, r.opts.Cluster),
			"cluster-defaults/" + from + "/" + strings.Join(took, ",")})
	}
	return eff, nil
}
