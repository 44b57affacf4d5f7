package managed_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/cluster"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/service"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/task"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/taskdefinition"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// goneAPI is an ECS where everything the kinds' Finalize steps touch is already gone, each call
// answered as ECS answers it then. Calls it does not override panic (nil API): Finalize must not
// make them.
type goneAPI struct{ ecsapi.API }

func (goneAPI) DeleteCluster(context.Context, *ecs.DeleteClusterInput, ...func(*ecs.Options)) (*ecs.DeleteClusterOutput, error) {
	return nil, &ecstypes.ClusterNotFoundException{Message: aws.String("Cluster not found.")}
}

func (goneAPI) DeregisterTaskDefinition(context.Context, *ecs.DeregisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	return nil, &ecstypes.ClientException{Message: aws.String("The specified task definition does not exist.")}
}

func (goneAPI) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{}, nil
}

func (goneAPI) StopTask(context.Context, *ecs.StopTaskInput, ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	return nil, &ecstypes.InvalidParameterException{Message: aws.String("The referenced task was not found.")}
}

// steps is what the tests need of every kind's Steps.
type steps interface {
	Finalize(ctx context.Context, obj any) *reconciler.Problem
	Readiness(obj any) (reconciler.Readiness, bool)
}

type stepsOf[T client.Object] struct{ s reconciler.Steps[T] }

func (a stepsOf[T]) Finalize(ctx context.Context, obj any) *reconciler.Problem {
	return a.s.Finalize(ctx, obj.(T))
}
func (a stepsOf[T]) Readiness(obj any) (reconciler.Readiness, bool) { return a.s.Readiness(obj.(T)) }

// kind builds one kind's Steps on api, and objects of it: one that nothing was created for, one
// whose ECS resource exists (its ARN in status).
type kind struct {
	name    string
	steps   func(api ecsapi.API, opts managed.Options) steps
	fresh   func(meta metav1.ObjectMeta) any
	created func(meta metav1.ObjectMeta) any
	// deletes: the calls Finalize makes for created (ECS answering that it is gone already);
	// freshDeletes: for fresh.
	deletes, freshDeletes map[string]int
}

var kinds = []kind{
	{
		name: "Cluster",
		steps: func(api ecsapi.API, opts managed.Options) steps {
			return stepsOf[*ecsv1alpha1.Cluster]{&cluster.Reconciler{ECS: api, Options: opts}}
		},
		fresh: func(m metav1.ObjectMeta) any { return &ecsv1alpha1.Cluster{ObjectMeta: m} },
		created: func(m metav1.ObjectMeta) any {
			return &ecsv1alpha1.Cluster{ObjectMeta: m, Status: ecsv1alpha1.ClusterStatus{ClusterArn: "arn:c", Status: "ACTIVE"}}
		},
		deletes:      map[string]int{ecsapi.OpDeleteCluster: 1},
		freshDeletes: map[string]int{},
	},
	{
		name: "TaskDefinition",
		steps: func(api ecsapi.API, opts managed.Options) steps {
			return stepsOf[*ecsv1alpha1.TaskDefinition]{&taskdefinition.Reconciler{
				ECS: api, Options: opts, Recorder: record.NewFakeRecorder(10)}}
		},
		fresh: func(m metav1.ObjectMeta) any { return &ecsv1alpha1.TaskDefinition{ObjectMeta: m} },
		created: func(m metav1.ObjectMeta) any {
			return &ecsv1alpha1.TaskDefinition{ObjectMeta: m, Status: ecsv1alpha1.TaskDefinitionStatus{
				TaskDefinitionArn: "arn:td:2", SpecHash: "h2", Revision: 2,
				ActiveRevisions: []ecsv1alpha1.TaskDefinitionRevision{{Revision: 1, TaskDefinitionArn: "arn:td:1"}, {Revision: 2, TaskDefinitionArn: "arn:td:2"}},
			}}
		},
		deletes:      map[string]int{ecsapi.OpDeregisterTaskDefinition: 2},
		freshDeletes: map[string]int{},
	},
	{
		name: "Service",
		steps: func(api ecsapi.API, opts managed.Options) steps {
			return stepsOf[*ecsv1alpha1.Service]{service.NewReconciler(nil, api, record.NewFakeRecorder(10), opts)}
		},
		fresh: func(m metav1.ObjectMeta) any {
			return &ecsv1alpha1.Service{ObjectMeta: m, Spec: ecsv1alpha1.ServiceSpec{Cluster: "c"}}
		},
		created: func(m metav1.ObjectMeta) any {
			return &ecsv1alpha1.Service{ObjectMeta: m, Spec: ecsv1alpha1.ServiceSpec{Cluster: "c"},
				Status: ecsv1alpha1.ServiceStatus{ServiceArn: "arn:s", ClusterArn: "arn:c", Status: "ACTIVE"}}
		},
		// It looks the service up first (by ARN, or by name when a crash may have lost the status
		// write of its creation), and finds nothing left to scale or delete.
		deletes:      map[string]int{ecsapi.OpDescribeServices: 1},
		freshDeletes: map[string]int{ecsapi.OpDescribeServices: 1},
	},
	{
		name: "Task",
		steps: func(api ecsapi.API, opts managed.Options) steps {
			return stepsOf[*ecsv1alpha1.Task]{task.NewReconciler(nil, api, record.NewFakeRecorder(10), opts)}
		},
		fresh: func(m metav1.ObjectMeta) any { return &ecsv1alpha1.Task{ObjectMeta: m} },
		created: func(m metav1.ObjectMeta) any {
			return &ecsv1alpha1.Task{ObjectMeta: m, Status: ecsv1alpha1.TaskStatus{TaskArn: "arn:t", ClusterArn: "arn:c", LastStatus: "RUNNING"}}
		},
		deletes:      map[string]int{ecsapi.OpStopTask: 1},
		freshDeletes: map[string]int{},
	},
}

// TestFinalizePolicies pins what deleting an object does to ECS, the same way for every kind:
// nothing with deletion policy retain or read-only (annotation or controller), nothing when no
// ECS resource was created, and the kind's delete calls otherwise, where a resource ECS no longer
// knows counts as deleted.
func TestFinalizePolicies(t *testing.T) {
	meta := func(annotations map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "x", Namespace: "ns", UID: types.UID("uid-x"), Annotations: annotations}
	}
	retain := map[string]string{ecsv1alpha1.AnnotationDeletionPolicy: "retain"}
	readOnly := map[string]string{ecsv1alpha1.AnnotationReadOnly: "true"}
	for _, k := range kinds {
		tests := []struct {
			name string
			obj  any
			opts managed.Options
			want map[string]int
		}{
			{"retain annotation", k.created(meta(retain)), managed.Options{}, map[string]int{}},
			{"retain by default", k.created(meta(nil)), managed.Options{DeletionPolicy: ecsv1alpha1.DeletionPolicyRetain}, map[string]int{}},
			{"read-only object", k.created(meta(readOnly)), managed.Options{}, map[string]int{}},
			{"read-only controller", k.created(meta(nil)), managed.Options{ReadOnly: true}, map[string]int{}},
			{"delete, already gone in ECS", k.created(meta(nil)), managed.Options{}, k.deletes},
			{"delete, nothing recorded in status", k.fresh(meta(nil)), managed.Options{}, k.freshDeletes},
		}
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				api := ecsapi.NewCounting(goneAPI{})
				p := k.steps(api, tt.opts.WithDefaults()).Finalize(context.Background(), tt.obj)
				if p != nil {
					t.Errorf("Finalize = %v, want done", p)
				}
				if diff := cmp.Diff(tt.want, api.Calls()); diff != "" {
					t.Errorf("ECS calls (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestReadinessExists: every kind reports an ECS resource as existing exactly when its status
// holds the resource's ARN, so a Problem turns Ready False only before anything exists.
func TestReadinessExists(t *testing.T) {
	for _, k := range kinds {
		s := k.steps(goneAPI{}, managed.Options{}.WithDefaults())
		m := metav1.ObjectMeta{Name: "x", Namespace: "ns"}
		if _, exists := s.Readiness(k.fresh(m)); exists {
			t.Errorf("%s: a fresh object reports an existing ECS resource", k.name)
		}
		if _, exists := s.Readiness(k.created(m)); !exists {
			t.Errorf("%s: an object with an ARN reports no ECS resource", k.name)
		}
	}
}
