package service

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/core"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// finalize deletes the ECS service (policy delete): it scales it to 0, then deletes it; ECS
// drains it from there. With policy retain, or read-only, the service is left as it is.
func (r *Reconciler) finalize(ctx context.Context, svc *ecsv1alpha1.Service) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(svc)
	if core.DeletionPolicyOf(svc, r.Options.DeletionPolicy) == ecsv1alpha1.DeletionPolicyDelete && !core.IsReadOnly(svc, r.Options) {
		if p := r.deleteService(ctx, svc); p != nil {
			return core.Result(p)
		}
	}
	r.Poller.Untrack(key)
	return ctrl.Result{}, core.RemoveFinalizer(ctx, r.Client, svc)
}

func (r *Reconciler) deleteService(ctx context.Context, svc *ecsv1alpha1.Service) *core.Problem {
	cluster := svc.Status.ClusterARN
	if cluster == "" {
		var p *core.Problem
		if cluster, p = core.ResolveCluster(ctx, r.Client, svc.Namespace, svc.Spec.Cluster, svc.Spec.ClusterRef); p != nil {
			// Without a cluster nothing can have been created.
			return nil
		}
	}
	r.Poller.Invalidate(client.ObjectKeyFromObject(svc))
	observed, err := r.observe(ctx, svc, cluster)
	if err != nil {
		return core.FromECS("describing service "+svc.ECSName(), err)
	}
	if observed == nil || aws.ToString(observed.Status) != "ACTIVE" || !owned(svc, observed) {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	if observed.DesiredCount > 0 {
		_, err := r.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: observed.ClusterArn, Service: observed.ServiceArn, DesiredCount: aws.Int32(0),
		})
		if err != nil && !ecsapi.IsNotFound(err) {
			return core.FromECS("scaling service "+svc.ECSName()+" to 0", err)
		}
		log.Info("scaled ECS service to 0 before deleting it", "arn", aws.ToString(observed.ServiceArn))
	}
	_, err = r.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: observed.ClusterArn, Service: observed.ServiceArn})
	if err != nil && !ecsapi.IsNotFound(err) {
		return core.FromECS("deleting service "+svc.ECSName(), err)
	}
	log.Info("deleted ECS service", "arn", aws.ToString(observed.ServiceArn))
	return nil
}
