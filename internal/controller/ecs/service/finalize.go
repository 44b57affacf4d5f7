package service

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Finalize deletes the ECS service (policy delete, not read-only): it scales it to 0, then
// deletes it; ECS drains it from there. With policy retain, or read-only, the service is left as
// it is.
func (r *Reconciler) Finalize(ctx context.Context, svc *ecsv1alpha1.Service) *reconciler.Problem {
	if !managed.DeletesECSResource(svc, r.Options) {
		return nil
	}
	return r.deleteService(ctx, svc)
}

func (r *Reconciler) deleteService(ctx context.Context, svc *ecsv1alpha1.Service) *reconciler.Problem {
	cluster := svc.Status.ClusterArn
	if cluster == "" {
		var p *reconciler.Problem
		if cluster, p = managed.ResolveCluster(ctx, r.Client, svc.Namespace, svc.Spec.Cluster, svc.Spec.ClusterRef); p != nil {
			// Without a cluster nothing can have been created.
			return nil
		}
	}
	r.Poller.Invalidate(client.ObjectKeyFromObject(svc))
	observed, err := r.observe(ctx, svc, cluster)
	if err != nil {
		return ecscall.FromECS("describing service "+svc.ECSName(), err)
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
			return ecscall.FromECS("scaling service "+svc.ECSName()+" to 0", err)
		}
		log.Info("scaled ECS service to 0 before deleting it", "arn", aws.ToString(observed.ServiceArn))
	}
	_, err = r.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: observed.ClusterArn, Service: observed.ServiceArn})
	if err != nil && !ecsapi.IsNotFound(err) {
		return ecscall.FromECS("deleting service "+svc.ECSName(), err)
	}
	log.Info("deleted ECS service", "arn", aws.ToString(observed.ServiceArn))
	return nil
}
