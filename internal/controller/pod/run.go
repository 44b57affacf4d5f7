package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/controller/revision"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/podstart"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// ReasonRunTaskFailed is the waiting reason of a Pod whose task ECS did not start (RunTask's
// failures: no capacity, a missing resource).
const ReasonRunTaskFailed = "RunTaskFailed"

// retryRunTaskFailed: RunTask's failures (capacity, placement) usually pass within seconds.
const retryRunTaskFailed = 15 * time.Second

// runTask registers (or reuses) the revision of start's task definition and runs the Pod's
// task as run, idempotently: clientToken translate.ClientToken(uid, run), so that a RunTask
// retried after a crash, a timeout or a lost status write returns the task it started.
func (r *Reconciler) runTask(ctx context.Context, pod *corev1.Pod, st *podState, tr *translate.Translation, cluster string,
	start *podstart.Start, run int, prev Record) *reconciler.Problem {
	arn, registered, release, err := r.registry.Ensure(ctx, start.TaskDefinition, start.Revision.Hash)
	if err != nil {
		return r.startFailed(pod, st, tr, podFieldProblem(revision.Problem(err), err))
	}
	defer release()
	if registered {
		ctrl.LoggerFrom(ctx).Info("registered task definition revision", "arn", arn)
	}
	in := r.runInput(pod, r.options(st), start, cluster, arn, run)
	key := client.ObjectKeyFromObject(pod)
	begin := r.now()
	out, err := r.ecs.RunTask(ctx, in)
	task, p := r.runOutcome(ctx, in, out, err)
	if p != nil {
		if strings.Contains(p.Message, "is inactive") || strings.Contains(p.Message, "INACTIVE") {
			r.registry.Forget(start.Revision.Family, arn) // deregistered by someone else: register again
			p.RequeueAfter = time.Second
		}
		return r.startFailed(pod, st, tr, p)
	}
	taskArn := aws.ToString(task.TaskArn)
	ctrl.LoggerFrom(ctx).Info("started ECS task", "arn", taskArn, "run", run)
	r.begun(pod, st, start, run)
	st.family = start.Revision.Family
	st.setRecord(Record{TaskArn: taskArn, Run: run, PreviousTaskArn: prev.TaskArn}, arn)
	r.poller.Track(key, clusterOf(taskArn), taskArn)
	r.poller.Put(key, task, begin)
	r.observed(st, task)
	r.emit(pod, st, pullingEvents(pod, run)...)
	r.writeStatus(pod, st, tr, task, false)
	return nil
}

// begun updates the node's state for a run that started: restart counts and the back-off of a
// re-run, the objects the files were written from.
func (r *Reconciler) begun(pod *corev1.Pod, st *podState, start *podstart.Start, run int) {
	if run > 0 {
		for _, name := range st.restarted {
			st.container(name).RestartCount++
		}
		st.restarted = nil
		st.backoff.next(r.opts.Backoff, r.now())
	}
	st.stopRequested = ""
	st.objects = map[string]string{}
	for _, o := range start.Objects {
		st.objects[o.Kind+"/"+o.Name] = o.ResourceVersion
	}
	st.tokenRefreshAt = refreshAt(r.now(), start.TokenExpiry)
	_ = pod
}

// refreshAt is when a token expiring at expiry and issued at now is renewed: at 80% of its
// life, as the kubelet does (zero without a token).
func refreshAt(now, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return time.Time{}
	}
	return now.Add(expiry.Sub(now) * 8 / 10)
}

// runInput is RunTask's request for the Pod's run: start's, in the Pods' cluster, for the
// revision arn, with the run's clientToken, Fargate and the awsvpc configuration of opts (the
// Pod's: the controller's, completed by the Cluster object's defaults).
func (r *Reconciler) runInput(pod *corev1.Pod, opts *Options, start *podstart.Start, cluster, arn string, run int) *ecs.RunTaskInput {
	in := *start.RunTask
	in.Cluster = aws.String(cluster)
	in.TaskDefinition = aws.String(arn)
	in.ClientToken = aws.String(translate.ClientToken(pod.UID, run))
	in.LaunchType = ecstypes.LaunchTypeFargate
	in.PlatformVersion = ecscall.OptString(r.opts.PlatformVersion)
	if len(opts.Subnets) > 0 {
		assign := ecstypes.AssignPublicIpDisabled
		if opts.AssignPublicIP {
			assign = ecstypes.AssignPublicIpEnabled
		}
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: opts.Subnets, SecurityGroups: opts.SecurityGroups, AssignPublicIp: assign,
		}}
	}
	return &in
}

// runOutcome is the task RunTask started, or the Problem that says why there is none. A
// ConflictException for the clientToken names the task an earlier request with the token
// started (its parameters differed: a new service-account token was issued since, or a
// ConfigMap changed): that is the Pod's task, described and adopted, never a second one.
func (r *Reconciler) runOutcome(ctx context.Context, in *ecs.RunTaskInput, out *ecs.RunTaskOutput, err error) (*ecstypes.Task, *reconciler.Problem) {
	var conflict *ecstypes.ConflictException
	if errors.As(err, &conflict) && len(conflict.ResourceIds) > 0 {
		arn := conflict.ResourceIds[0]
		got, derr := r.describe(ctx, aws.ToString(in.Cluster), []string{arn})
		if derr != nil {
			return nil, ecscall.FromECS("describing task "+arn, derr)
		}
		if t := got[arn]; t != nil {
			ctrl.LoggerFrom(ctx).Info("re-attached to the task of the clientToken", "arn", arn, "clientToken", aws.ToString(in.ClientToken))
			return t, nil
		}
		return nil, &reconciler.Problem{Reason: ecscall.ReasonConflict, RequeueAfter: ecscall.RetryConflict,
			Message: fmt.Sprintf("RunTask: clientToken %s names task %s, which ECS no longer describes", aws.ToString(in.ClientToken), arn)}
	}
	if err != nil {
		return nil, podFieldProblem(ecscall.FromECS("running the Pod's task", err), err)
	}
	if len(out.Tasks) == 0 {
		var reasons []string
		for _, f := range out.Failures {
			reasons = append(reasons, strings.TrimSpace(aws.ToString(f.Reason)+" "+aws.ToString(f.Detail)))
		}
		return nil, &reconciler.Problem{Reason: ReasonRunTaskFailed, RequeueAfter: retryRunTaskFailed,
			Message: "ECS did not start the task: " + strings.Join(reasons, "; ")}
	}
	return &out.Tasks[0], nil
}

// podFieldProblem is p, the Problem of ECS's error err, unless ECS refused (InvalidParameter) a
// member that the translation made from a Pod field (translate.DataPlaneRefusal: the local data
// plane refuses systemControls, made from spec.securityContext.sysctls): the Pod has no such
// member, so the Problem names the field and what to do with it, quoting ECS.
func podFieldProblem(p *reconciler.Problem, err error) *reconciler.Problem {
	if !ecsapi.IsInvalidParameter(err) {
		return p
	}
	refused, ok := translate.DataPlaneRefusal(ecsapi.Message(err))
	if !ok {
		return p
	}
	return &reconciler.Problem{Reason: refused.Reason, Message: refused.Path + ": " + refused.Message, RequeueAfter: p.RequeueAfter}
}

var _ = ecsapi.IsNotFound
