package pod

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/podstart"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// suspect is a task whose Pod went away while it ran.
type suspect struct {
	key     types.NamespacedName
	uid     types.UID
	taskArn string
}

// sweeper is the controller's garbage collection, a manager Runnable: at start and every
// SweepInterval it stops orphan tasks (tasks nodeless started for a Pod that no longer exists:
// force-deleted, or deleted while no controller ran), deregisters the revisions of families no
// Pod uses beyond the newest KeepRevisions, and deletes the mirror entries of objects that are
// gone. Suspects (Pods gone while their task ran, from Forget) are handled at once.
type sweeper struct {
	r *Reconciler
}

// Start sweeps until ctx ends.
func (s *sweeper) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("pod-sweeper").WithValues("node", s.r.opts.NodeName)
	ctx = ctrl.LoggerInto(ctx, log)
	for {
		if _, p := s.r.ensureCluster(ctx); p == nil {
			break
		} else {
			log.Error(p, "ensuring the Pods' cluster")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Second):
		}
	}
	s.sweep(ctx, log)
	t := time.NewTicker(s.r.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.sweep(ctx, log)
		case sus := <-s.r.suspects:
			s.stopIfGone(ctx, log, clusterOf(sus.taskArn), sus.taskArn, sus.key, sus.uid)
		}
	}
}

// sweep runs the three collections once; each logs its own errors and the next sweep retries.
func (s *sweeper) sweep(ctx context.Context, log logr.Logger) {
	if err := s.orphans(ctx, log); err != nil {
		log.Error(err, "looking for orphan tasks")
	}
	if err := s.revisions(ctx, log); err != nil {
		log.Error(err, "collecting task definition revisions")
	}
	if err := s.mirror(ctx, log); err != nil {
		log.Error(err, "collecting mirror entries")
	}
}

// orphans stops the running tasks of the Pods' cluster that nodeless started for a Pod that no
// longer exists. Tasks of Pods the controller knows cost nothing but their listing; the others are
// described (with their tags, which name the Pod) and their Pod read from the API server.
func (s *sweeper) orphans(ctx context.Context, log logr.Logger) error {
	r := s.r
	cluster := r.opts.Cluster
	arns, err := listTasks(ctx, r.ecs, cluster)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	r.pods.each(func(_ types.NamespacedName, st *podState) {
		if rec, ok := st.record(); ok {
			known[rec.TaskArn] = true
		}
	})
	var unknown []string
	for _, a := range arns {
		if !known[a] {
			unknown = append(unknown, a)
		}
	}
	for start := 0; start < len(unknown); start += ecsapi.MaxDescribeTasks {
		batch := unknown[start:min(start+ecsapi.MaxDescribeTasks, len(unknown))]
		out, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: batch,
			Include: []ecstypes.TaskField{ecstypes.TaskFieldTags}})
		if err != nil {
			return fmt.Errorf("describing tasks of cluster %s: %w", cluster, err)
		}
		for i := range out.Tasks {
			t := &out.Tasks[i]
			uid := ecscall.TagValue(t.Tags, translate.TagOwner)
			ns, name := ecscall.TagValue(t.Tags, translate.TagPodNamespace), ecscall.TagValue(t.Tags, translate.TagPodName)
			if uid == "" || ns == "" || name == "" || !strings.HasPrefix(aws.ToString(t.StartedBy), "nodeless/") {
				continue // not a Pod's task
			}
			s.stopIfGone(ctx, log, cluster, aws.ToString(t.TaskArn), types.NamespacedName{Namespace: ns, Name: name}, types.UID(uid))
		}
	}
	return nil
}

// listTasks lists the ARNs of the cluster's tasks whose desired status is RUNNING.
func listTasks(ctx context.Context, api ecsapi.API, cluster string) ([]string, error) {
	var arns []string
	in := &ecs.ListTasksInput{Cluster: aws.String(cluster), MaxResults: aws.Int32(100)}
	for {
		out, err := api.ListTasks(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing tasks of cluster %s: %w", cluster, err)
		}
		arns = append(arns, out.TaskArns...)
		if aws.ToString(out.NextToken) == "" {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

// stopIfGone stops task arn unless the API server still has the Pod key with uid.
func (s *sweeper) stopIfGone(ctx context.Context, log logr.Logger, cluster, arn string, key types.NamespacedName, uid types.UID) {
	var pod corev1.Pod
	err := s.r.apiReader.Get(ctx, key, &pod)
	switch {
	case err == nil && pod.UID == uid:
		return
	case err != nil && !apierrors.IsNotFound(err):
		log.Error(err, "reading the pod of a task", "pod", key, "arn", arn)
		return
	}
	_, err = s.r.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn),
		Reason: aws.String(truncate(fmt.Sprintf("Pod %s (uid %s) no longer exists", key, uid), 255))})
	if err != nil && !ecsapi.IsNotFound(err) {
		log.Error(err, "stopping an orphan task", "pod", key, "arn", arn)
		return
	}
	log.Info("stopped an orphan task", "reason", EventOrphanStopped, "pod", key, "uid", uid, "arn", arn)
}

// revisions deregisters, per family that changed, the revisions no Pod's task runs beyond the
// newest KeepRevisions. It waits until the controller has observed the task of every Pod that
// has one, so that a revision in use is never taken for an unused one.
func (s *sweeper) revisions(ctx context.Context, log logr.Logger) error {
	r := s.r
	families := r.registry.Dirty()
	if len(families) == 0 {
		return nil
	}
	var pods corev1.PodList
	if err := r.client.List(ctx, &pods); err != nil {
		return fmt.Errorf("listing the node's pods: %w", err)
	}
	inUse := map[string]bool{}
	for i := range pods.Items {
		p := &pods.Items[i]
		st := r.pods.get(types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
		if _, has, _ := recordOf(&p.Status); has && !terminal(p) && (st == nil || st.uid != p.UID) {
			log.V(1).Info("revision collection waits for every pod's task to be observed", "pod", p.Namespace+"/"+p.Name)
			return nil
		}
	}
	r.pods.each(func(_ types.NamespacedName, st *podState) {
		st.mu.Lock()
		if st.live && st.taskDef != "" {
			inUse[st.taskDef] = true
		}
		st.mu.Unlock()
	})
	for _, f := range families {
		gone, err := r.registry.Collect(ctx, f, r.opts.KeepRevisions, func(arn string) bool { return inUse[arn] })
		for _, arn := range gone {
			log.Info("deregistered an unused task definition revision", "arn", arn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mirror deletes the Secrets Manager entries of ConfigMaps, Secrets and owners that are gone: the
// safety net of the mirror collector (mirrorgc.go), for deletes missed while no controller ran,
// and the only collector of the Env entries of workload controllers and Pods. Its listing makes
// the entries known to Mirror.DeleteOf after a restart.
func (s *sweeper) mirror(ctx context.Context, log logr.Logger) error {
	owned, err := s.r.opts.Mirror.Orphans(ctx, podstart.OwnerAlive(s.r.apiReader))
	if err != nil || len(owned) == 0 {
		return err
	}
	if err := s.r.opts.Mirror.DeleteOwned(ctx, owned); err != nil {
		return err
	}
	log.Info("deleted mirror entries of objects that are gone", "count", len(owned))
	return nil
}
