package service

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// TestMembersMatchWhatECSReports: what ECS reports for the members of members_service_types.go
// in its own way (defaults filled in, another order, a namespace as its ARN) is no change; a
// real difference is an UpdateService naming the member.
func TestMembersMatchWhatECSReports(t *testing.T) {
	item := func(p string, w, b int32) ecstypes.CapacityProviderStrategyItem {
		return ecstypes.CapacityProviderStrategyItem{CapacityProvider: aws.String(p), Weight: w, Base: b}
	}
	primary := func(sc *ecstypes.ServiceConnectConfiguration) []ecstypes.Deployment {
		return []ecstypes.Deployment{{Status: aws.String("PRIMARY"), ServiceConnectConfiguration: sc}}
	}
	for _, tc := range []struct {
		name     string
		spec     ecsv1alpha1.ServiceSpec
		observed ecstypes.Service
		want     []string
	}{
		{"strategy in another order, weight and base left out", ecsv1alpha1.ServiceSpec{ServiceMembers: ecsv1alpha1.ServiceMembers{
			CapacityProviderStrategy: []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(1)}, {CapacityProvider: "FARGATE"}}}},
			ecstypes.Service{CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{item("FARGATE", 0, 0), item("FARGATE_SPOT", 1, 0)}}, nil},
		{"strategy weight changed", ecsv1alpha1.ServiceSpec{ServiceMembers: ecsv1alpha1.ServiceMembers{
			CapacityProviderStrategy: []ecsv1alpha1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: aws.Int32(2)}}}},
			ecstypes.Service{CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{item("FARGATE_SPOT", 1, 0)}}, []string{"capacityProviderStrategy"}},
		{"no strategy in the spec: what ECS has stays", ecsv1alpha1.ServiceSpec{},
			ecstypes.Service{CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{item("FARGATE_SPOT", 1, 0)}}, nil},
		{"deployment controller ECS, reported as none", ecsv1alpha1.ServiceSpec{ServiceMembers: ecsv1alpha1.ServiceMembers{
			DeploymentController: &ecsv1alpha1.DeploymentController{Type: "ECS"}}}, ecstypes.Service{}, nil},
		{"deployment controller changed", ecsv1alpha1.ServiceSpec{ServiceMembers: ecsv1alpha1.ServiceMembers{
			DeploymentController: &ecsv1alpha1.DeploymentController{Type: "EXTERNAL"}}}, ecstypes.Service{}, []string{"deploymentController"}},
		{"service connect namespace by name, reported as its ARN", ecsv1alpha1.ServiceSpec{ServiceMembers: ecsv1alpha1.ServiceMembers{
			ServiceConnectConfiguration: &ecsv1alpha1.ServiceConnectConfiguration{Enabled: true, Namespace: "prod"}}},
			ecstypes.Service{Deployments: primary(&ecstypes.ServiceConnectConfiguration{Enabled: true,
				Namespace: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1")})}, nil},
		{"service connect turned on", ecsv1alpha1.ServiceSpec{ServiceMembers: ecsv1alpha1.ServiceMembers{
			ServiceConnectConfiguration: &ecsv1alpha1.ServiceConnectConfiguration{Enabled: true}}},
			ecstypes.Service{Deployments: primary(nil)}, []string{"serviceConnectConfiguration"}},
		{"service connect off, none reported", ecsv1alpha1.ServiceSpec{ServiceMembers: ecsv1alpha1.ServiceMembers{
			ServiceConnectConfiguration: &ecsv1alpha1.ServiceConnectConfiguration{}}}, ecstypes.Service{Deployments: primary(nil)}, nil},
		{"alarms off, none reported", ecsv1alpha1.ServiceSpec{DeploymentConfiguration: &ecsv1alpha1.DeploymentConfiguration{
			Alarms: &ecsv1alpha1.DeploymentAlarms{}}}, ecstypes.Service{}, nil},
		{"alarms in another order", ecsv1alpha1.ServiceSpec{DeploymentConfiguration: &ecsv1alpha1.DeploymentConfiguration{
			Alarms: &ecsv1alpha1.DeploymentAlarms{AlarmNames: []string{"a", "b"}, Enable: true}}},
			ecstypes.Service{DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"b", "a"}, Enable: true}}}, nil},
		{"alarms turned on", ecsv1alpha1.ServiceSpec{DeploymentConfiguration: &ecsv1alpha1.DeploymentConfiguration{
			Alarms: &ecsv1alpha1.DeploymentAlarms{AlarmNames: []string{"a"}, Enable: true}}},
			ecstypes.Service{DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"a"}}}}, []string{"deploymentConfiguration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &ecsv1alpha1.Service{Spec: tc.spec}
			_, changed := UpdateInput(svc, "", &tc.observed)
			if diff := cmp.Diff(tc.want, changed); diff != "" {
				t.Errorf("members UpdateService would change (-want +got):\n%s", diff)
			}
		})
	}
}
