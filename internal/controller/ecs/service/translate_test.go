package service

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// The SDK's types carry an unexported zero-size marker; comparing it is harmless.
var sdkTypes = cmp.Exporter(func(reflect.Type) bool { return true })

const (
	arn1   = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	arn2   = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
	svcARN = "arn:aws:ecs:us-east-1:123456789012:service/c1/web"
	clARN  = "arn:aws:ecs:us-east-1:123456789012:cluster/c1"
)

func observedService(mut ...func(*ecstypes.Service)) *ecstypes.Service {
	s := &ecstypes.Service{
		ServiceArn: aws.String(svcARN), ClusterArn: aws.String(clARN), ServiceName: aws.String("web"),
		Status: aws.String("ACTIVE"), TaskDefinition: aws.String(arn1), DesiredCount: 2, RunningCount: 2,
		LaunchType: ecstypes.LaunchTypeFargate, SchedulingStrategy: ecstypes.SchedulingStrategyReplica,
		PlatformVersion: aws.String("LATEST"),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{},
		},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-a", "subnet-b"}, SecurityGroups: []string{"sg-default"}, AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
		HealthCheckGracePeriodSeconds: aws.Int32(0),
	}
	for _, m := range mut {
		m(s)
	}
	return s
}

func specService(mut ...func(*ecsv1alpha1.Service)) *ecsv1alpha1.Service {
	s := &ecsv1alpha1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "1234", Generation: 3},
		Spec: ecsv1alpha1.ServiceSpec{
			TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: "web"},
			DesiredCount:      aws.Int32(2),
			NetworkConfiguration: &ecsv1alpha1.NetworkConfiguration{AwsvpcConfiguration: &ecsv1alpha1.AwsVpcConfiguration{
				Subnets: []string{"subnet-b", "subnet-a"},
			}},
		},
		Status: ecsv1alpha1.ServiceStatus{AppliedTaskDefinition: arn1},
	}
	for _, m := range mut {
		m(s)
	}
	return s
}

func TestUpdateInput(t *testing.T) {
	tests := []struct {
		name      string
		svc       *ecsv1alpha1.Service
		desiredTD string
		observed  *ecstypes.Service
		want      *ecs.UpdateServiceInput
		changed   []string
	}{
		{name: "in sync", svc: specService(), desiredTD: arn1, observed: observedService()},
		{
			name: "defaults ECS filled in are not fought", desiredTD: arn1,
			svc: specService(func(s *ecsv1alpha1.Service) {
				s.Spec.DeploymentConfiguration = nil
				s.Spec.PlatformVersion = ""
			}),
			observed: observedService(),
		},
		{
			name: "defaults spelled out, ECS omits them", desiredTD: arn1,
			svc: specService(func(s *ecsv1alpha1.Service) {
				s.Spec.DeploymentConfiguration = &ecsv1alpha1.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}
			}),
			observed: observedService(func(o *ecstypes.Service) { o.DeploymentConfiguration = nil }),
		},
		{
			name: "scale", desiredTD: arn1,
			svc:      specService(func(s *ecsv1alpha1.Service) { s.Spec.DesiredCount = aws.Int32(5) }),
			observed: observedService(),
			want:     &ecs.UpdateServiceInput{Service: aws.String(svcARN), Cluster: aws.String(clARN), DesiredCount: aws.Int32(5)},
			changed:  []string{"desiredCount"},
		},
		{
			name: "new revision rolls out", svc: specService(), desiredTD: arn2, observed: observedService(),
			want:    &ecs.UpdateServiceInput{Service: aws.String(svcARN), Cluster: aws.String(clARN), TaskDefinition: aws.String(arn2)},
			changed: []string{"taskDefinition"},
		},
		{
			name: "rollback by the circuit breaker is not undone", desiredTD: arn2,
			svc:      specService(func(s *ecsv1alpha1.Service) { s.Status.AppliedTaskDefinition = arn2 }),
			observed: observedService(),
		},
		{
			name: "already running the desired revision", desiredTD: arn2,
			svc:      specService(func(s *ecsv1alpha1.Service) { s.Status.AppliedTaskDefinition = "" }),
			observed: observedService(func(o *ecstypes.Service) { o.TaskDefinition = aws.String(arn2) }),
		},
		{
			name: "bare family matches any revision", desiredTD: "web",
			svc:      specService(func(s *ecsv1alpha1.Service) { s.Status.AppliedTaskDefinition = "" }),
			observed: observedService(),
		},
		{
			name: "circuit breaker turned on keeps the observed percents", desiredTD: arn1,
			svc: specService(func(s *ecsv1alpha1.Service) {
				s.Spec.DeploymentConfiguration = &ecsv1alpha1.DeploymentConfiguration{
					DeploymentCircuitBreaker: &ecsv1alpha1.DeploymentCircuitBreaker{Enable: true, Rollback: true},
				}
			}),
			observed: observedService(),
			want: &ecs.UpdateServiceInput{Service: aws.String(svcARN), Cluster: aws.String(clARN),
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
					MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
					DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
				}},
			changed: []string{"deploymentConfiguration"},
		},
		{
			name: "subnet added", desiredTD: arn1,
			svc: specService(func(s *ecsv1alpha1.Service) {
				s.Spec.NetworkConfiguration.AwsvpcConfiguration.Subnets = []string{"subnet-a", "subnet-b", "subnet-c"}
			}),
			observed: observedService(),
			want: &ecs.UpdateServiceInput{Service: aws.String(svcARN), Cluster: aws.String(clARN),
				NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
					Subnets: []string{"subnet-a", "subnet-b", "subnet-c"},
				}}},
			changed: []string{"networkConfiguration"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := UpdateInput(tt.svc, tt.desiredTD, tt.observed)
			if diff := cmp.Diff(tt.want, got, sdkTypes); diff != "" {
				t.Errorf("UpdateInput (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.changed, changed); diff != "" {
				t.Errorf("changed members (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateInput(t *testing.T) {
	svc := specService(func(s *ecsv1alpha1.Service) {
		s.Spec.LaunchType = "FARGATE"
		s.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
		s.Spec.LoadBalancers = []ecsv1alpha1.LoadBalancer{{TargetGroupArn: "tg", ContainerName: "app", ContainerPort: 80}}
	})
	got := CreateInput(svc, "c1", arn1)
	want := &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), Cluster: aws.String("c1"), TaskDefinition: aws.String(arn1),
		DesiredCount: aws.Int32(2), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-b", "subnet-a"},
		}},
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(80)}},
		ClientToken:   aws.String(ecscall.ClientToken(svc, MaxClientToken)),
		Tags: []ecstypes.Tag{
			{Key: aws.String("team"), Value: aws.String("a")},
			{Key: aws.String(ecscall.TagOwner), Value: aws.String("1234")},
		},
	}
	if diff := cmp.Diff(want, got, sdkTypes); diff != "" {
		t.Errorf("CreateInput (-want +got):\n%s", diff)
	}
	if n := len(aws.ToString(got.ClientToken)); n != MaxClientToken {
		t.Errorf("clientToken length %d, want %d", n, MaxClientToken)
	}
	svc.Generation++
	if ecscall.ClientToken(svc, MaxClientToken) == aws.ToString(got.ClientToken) {
		t.Error("clientToken did not change with the generation")
	}
}

func TestTaskDefinitionMatches(t *testing.T) {
	tests := []struct {
		want, arn string
		match     bool
	}{
		{arn1, arn1, true},
		{arn2, arn1, false},
		{"web:1", arn1, true},
		{"web:2", arn1, false},
		{"web", arn1, true},
		{"api", arn1, false},
	}
	for _, tt := range tests {
		if got := TaskDefinitionMatches(tt.want, tt.arn); got != tt.match {
			t.Errorf("TaskDefinitionMatches(%q, %q) = %v, want %v", tt.want, tt.arn, got, tt.match)
		}
	}
}

func TestReadiness(t *testing.T) {
	primary := func(td string, state ecsv1alpha1.DeploymentRolloutState) ecsv1alpha1.Deployment {
		return ecsv1alpha1.Deployment{Status: "PRIMARY", TaskDefinition: td, RolloutState: state}
	}
	tests := []struct {
		name   string
		st     ecsv1alpha1.ServiceStatus
		ok     bool
		reason string
	}{
		{"complete", ecsv1alpha1.ServiceStatus{Status: "ACTIVE", TaskDefinition: arn1, AppliedTaskDefinition: arn1, DesiredCount: 2, RunningCount: 2,
			Deployments: []ecsv1alpha1.Deployment{primary(arn1, "COMPLETED")}}, true, managed.ReasonRolloutComplete},
		{"in progress", ecsv1alpha1.ServiceStatus{Status: "ACTIVE", TaskDefinition: arn2, AppliedTaskDefinition: arn2, DesiredCount: 2, RunningCount: 2,
			Deployments: []ecsv1alpha1.Deployment{primary(arn2, "IN_PROGRESS"), {Status: "ACTIVE", TaskDefinition: arn1}}}, false, managed.ReasonRolloutInProgress},
		{"failed", ecsv1alpha1.ServiceStatus{Status: "ACTIVE", TaskDefinition: arn2, AppliedTaskDefinition: arn2,
			Deployments: []ecsv1alpha1.Deployment{primary(arn2, "FAILED")}}, false, managed.ReasonRolloutFailed},
		{"rolled back", ecsv1alpha1.ServiceStatus{Status: "ACTIVE", TaskDefinition: arn1, AppliedTaskDefinition: arn2, DesiredCount: 1, RunningCount: 1,
			Deployments: []ecsv1alpha1.Deployment{primary(arn1, "COMPLETED")}}, false, managed.ReasonRolloutFailed},
		{"draining", ecsv1alpha1.ServiceStatus{Status: "DRAINING"}, false, managed.ReasonNotActive},
		{"tasks missing", ecsv1alpha1.ServiceStatus{Status: "ACTIVE", TaskDefinition: arn1, DesiredCount: 2, RunningCount: 1,
			Deployments: []ecsv1alpha1.Deployment{primary(arn1, "COMPLETED")}}, false, managed.ReasonRolloutInProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason, msg := Readiness(&tt.st)
			if ok != tt.ok || reason != tt.reason || msg == "" {
				t.Errorf("Readiness = %v, %s, %q; want %v, %s and a message", ok, reason, msg, tt.ok, tt.reason)
			}
		})
	}
}

func TestNewEvents(t *testing.T) {
	at := func(sec int) *time.Time {
		v := time.Date(2026, 1, 1, 0, 0, sec, 500, time.UTC)
		return &v
	}
	events := []ecstypes.ServiceEvent{
		{Id: aws.String("e3"), CreatedAt: at(3), Message: aws.String("three")},
		{Id: aws.String("e2"), CreatedAt: at(2), Message: aws.String("two")},
		{Id: aws.String("e1"), CreatedAt: at(1), Message: aws.String("one")},
	}
	ids := func(es []ecstypes.ServiceEvent) []string {
		var out []string
		for _, e := range es {
			out = append(out, aws.ToString(e.Id))
		}
		return out
	}
	tests := []struct {
		name string
		st   ecsv1alpha1.ServiceStatus
		max  int
		want []string
	}{
		{"first time", ecsv1alpha1.ServiceStatus{}, 10, []string{"e3", "e2", "e1"}},
		{"capped", ecsv1alpha1.ServiceStatus{}, 2, []string{"e3", "e2"}},
		{"seen e2", ecsv1alpha1.ServiceStatus{LastEventID: "e2", LastEventTime: &metav1.Time{Time: at(2).Truncate(time.Second)}}, 10, []string{"e3"}},
		{"seen all", ecsv1alpha1.ServiceStatus{LastEventID: "e3", LastEventTime: &metav1.Time{Time: at(3).Truncate(time.Second)}}, 10, nil},
		{"last id aged out", ecsv1alpha1.ServiceStatus{LastEventID: "e0", LastEventTime: &metav1.Time{Time: at(2).Truncate(time.Second)}}, 10, []string{"e3", "e2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(newEvents(&tt.st, events, tt.max))); diff != "" {
				t.Errorf("newEvents (-want +got):\n%s", diff)
			}
		})
	}
}
