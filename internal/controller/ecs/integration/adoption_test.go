package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// TestAdoptionMoto: an ECS service that nodeless did not create is refused with a condition that
// says how to take it over; with the adoption annotation it is taken over (one UpdateService to
// converge desiredCount) and, with deletion policy retain, outlives its object.
func TestAdoptionMoto(t *testing.T) {
	c, env := kube(t)
	api := ecsapi.NewCounting(ecstest.Client(t, ecstest.StartMoto(t)))
	adoption(t, c, env, api)
}

// adoption is the adoption scenario of TestAdoptionMoto against api.
func adoption(t *testing.T, c client.Client, env *testenv.Env, api *ecsapi.Counting) {
	ctx := context.Background()
	ns := env.Namespace
	if _, err := api.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("legacy")}); err != nil {
		t.Fatal(err)
	}
	td, err := api.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("legacy"),
		Cpu: aws.String("256"), Memory: aws.String("512"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(64)}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	if _, err := api.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("legacy"), ServiceName: aws.String("api"),
		TaskDefinition: aws.String(arn), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	runControllers(t, env, api)
	s := &scenario{t: t, c: c, ns: ns, api: api, ctx: ctx}

	svc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: ecsv1alpha1.ServiceSpec{Cluster: "legacy", TaskDefinition: arn, DesiredCount: aws.Int32(3)}}
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "NameTaken", func() (bool, string) {
		s.get(svc)
		cond := meta.FindStatusCondition(svc.Status.Conditions, ecsv1alpha1.ConditionSynced)
		if cond == nil {
			return false, "no Synced condition"
		}
		return cond.Reason == managed.ReasonNameTaken && strings.Contains(cond.Message, ecsv1alpha1.AnnotationAdopt), cond.Reason + ": " + cond.Message
	})
	if n := api.Writes(); n != 3 { // the three set-up calls above
		t.Errorf("writes before adoption = %d, want only the 3 set-up calls (%v)", n, api.Calls())
	}

	api.Reset()
	svc.Annotations = map[string]string{ecsv1alpha1.AnnotationAdopt: "api", ecsv1alpha1.AnnotationDeletionPolicy: "retain"}
	if err := c.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "adopted and scaled", func() (bool, string) {
		s.get(svc)
		return svc.Status.ServiceArn != "" && svc.Status.DesiredCount == 3, fmt.Sprintf("%+v", svc.Status)
	})
	time.Sleep(3 * time.Second)
	if diff := api.Calls(); diff[ecsapi.OpUpdateService] != 1 || api.Writes() != 1 {
		t.Errorf("calls to adopt: %v, want exactly one UpdateService and no other write", diff)
	}
	if err := c.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "object gone", s.gone(svc))
	if st := s.ecsServiceStatus("legacy", "api"); st != "ACTIVE" {
		t.Errorf("retained adopted service is %s, want ACTIVE", st)
	}
}
