package service

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// The translation of the members of api/ecs/v1alpha1/members_service_types.go. As for the core
// members, only what the spec sets is compared with what ECS reports, a member ECS leaves out is
// read as its documented default, and which UpdateService members start a deployment is what the
// ECS model documents (serviceRegistries and serviceConnectConfiguration do; capacity provider
// strategy, placement and the deployment controller do not).

// createMembers sets the ServiceMembers of s on in.
func createMembers(s *ecsv1alpha1.ServiceSpec, in *ecs.CreateServiceInput) {
	in.CapacityProviderStrategy = managed.CapacityProviderStrategy(s.CapacityProviderStrategy)
	in.PlacementConstraints = managed.PlacementConstraints(s.PlacementConstraints)
	in.PlacementStrategy = managed.PlacementStrategy(s.PlacementStrategy)
	in.ServiceRegistries = serviceRegistries(s.ServiceRegistries)
	in.ServiceConnectConfiguration = serviceConnect(s.ServiceConnectConfiguration)
	if dc := s.DeploymentController; dc != nil {
		in.DeploymentController = &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerType(dc.Type)}
	}
}

// updateMembers sets on in the ServiceMembers of s that differ from observed and returns their
// names.
func updateMembers(s *ecsv1alpha1.ServiceSpec, observed *ecstypes.Service, in *ecs.UpdateServiceInput) []string {
	var changed []string
	if want := managed.CapacityProviderStrategy(s.CapacityProviderStrategy); want != nil && !sameUnordered(want, observed.CapacityProviderStrategy, strategyKey) {
		in.CapacityProviderStrategy = want
		changed = append(changed, "capacityProviderStrategy")
	}
	if want := managed.PlacementConstraints(s.PlacementConstraints); want != nil && !sdkEqual(want, observed.PlacementConstraints) {
		in.PlacementConstraints = want
		changed = append(changed, "placementConstraints")
	}
	if want := managed.PlacementStrategy(s.PlacementStrategy); want != nil && !sdkEqual(want, observed.PlacementStrategy) {
		in.PlacementStrategy = want
		changed = append(changed, "placementStrategy")
	}
	if want := serviceRegistries(s.ServiceRegistries); want != nil && !sdkEqual(want, observed.ServiceRegistries) {
		in.ServiceRegistries = want
		changed = append(changed, "serviceRegistries")
	}
	if want := serviceConnect(s.ServiceConnectConfiguration); want != nil && !serviceConnectMatches(want, primaryServiceConnect(observed)) {
		in.ServiceConnectConfiguration = want
		changed = append(changed, "serviceConnectConfiguration")
	}
	if dc := s.DeploymentController; dc != nil && dc.Type != observedControllerType(observed) {
		in.DeploymentController = &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerType(dc.Type)}
		changed = append(changed, "deploymentController")
	}
	return changed
}

func serviceRegistries(rs []ecsv1alpha1.ServiceRegistry) []ecstypes.ServiceRegistry {
	var out []ecstypes.ServiceRegistry
	for _, r := range rs {
		out = append(out, ecstypes.ServiceRegistry{
			RegistryArn: ecscall.OptString(r.RegistryArn), Port: r.Port,
			ContainerName: ecscall.OptString(r.ContainerName), ContainerPort: r.ContainerPort,
		})
	}
	return out
}

func serviceConnect(sc *ecsv1alpha1.ServiceConnectConfiguration) *ecstypes.ServiceConnectConfiguration {
	if sc == nil {
		return nil
	}
	out := &ecstypes.ServiceConnectConfiguration{Enabled: sc.Enabled, Namespace: ecscall.OptString(sc.Namespace)}
	for i := range sc.Services {
		out.Services = append(out.Services, serviceConnectService(&sc.Services[i]))
	}
	if lc := sc.LogConfiguration; lc != nil {
		out.LogConfiguration = &ecstypes.LogConfiguration{
			LogDriver: ecstypes.LogDriver(lc.LogDriver), Options: lc.Options, SecretOptions: managed.Secrets(lc.SecretOptions),
		}
	}
	if al := sc.AccessLogConfiguration; al != nil {
		out.AccessLogConfiguration = &ecstypes.ServiceConnectAccessLogConfiguration{
			Format: ecstypes.ServiceConnectAccessLoggingFormat(al.Format), IncludeQueryParameters: ecstypes.ServiceConnectIncludeQueryParameters(al.IncludeQueryParameters),
		}
	}
	return out
}

func serviceConnectService(s *ecsv1alpha1.ServiceConnectService) ecstypes.ServiceConnectService {
	out := ecstypes.ServiceConnectService{
		PortName: aws.String(s.PortName), DiscoveryName: ecscall.OptString(s.DiscoveryName), IngressPortOverride: s.IngressPortOverride,
	}
	for _, a := range s.ClientAliases {
		out.ClientAliases = append(out.ClientAliases, ecstypes.ServiceConnectClientAlias{Port: aws.Int32(a.Port), DnsName: ecscall.OptString(a.DnsName)})
	}
	if t := s.Timeout; t != nil {
		out.Timeout = &ecstypes.TimeoutConfiguration{IdleTimeoutSeconds: t.IdleTimeoutSeconds, PerRequestTimeoutSeconds: t.PerRequestTimeoutSeconds}
	}
	if t := s.Tls; t != nil {
		out.Tls = &ecstypes.ServiceConnectTlsConfiguration{
			IssuerCertificateAuthority: &ecstypes.ServiceConnectTlsCertificateAuthority{AwsPcaAuthorityArn: ecscall.OptString(t.IssuerCertificateAuthority.AwsPcaAuthorityArn)},
			KmsKey:                     ecscall.OptString(t.KmsKey), RoleArn: ecscall.OptString(t.RoleArn),
		}
	}
	return out
}

// primaryServiceConnect is the Service Connect configuration of the PRIMARY deployment: ECS
// reports it there, not on the service.
func primaryServiceConnect(observed *ecstypes.Service) *ecstypes.ServiceConnectConfiguration {
	for _, d := range observed.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return d.ServiceConnectConfiguration
		}
	}
	return nil
}

// serviceConnectMatches compares what the spec sets with what ECS reports. ECS reports the
// namespace as the Cloud Map namespace's ARN whatever the request named it by, so a namespace
// given by name is compared only when ECS reports a name too.
func serviceConnectMatches(want, got *ecstypes.ServiceConnectConfiguration) bool {
	if got == nil {
		return !want.Enabled
	}
	w, g := *want, *got
	if w.Namespace == nil || (!strings.HasPrefix(aws.ToString(w.Namespace), "arn:") && strings.HasPrefix(aws.ToString(g.Namespace), "arn:")) {
		w.Namespace, g.Namespace = nil, nil
	}
	if w.LogConfiguration == nil {
		g.LogConfiguration = nil
	}
	if w.AccessLogConfiguration == nil {
		g.AccessLogConfiguration = nil
	}
	return sdkEqual(&w, &g)
}

func observedControllerType(observed *ecstypes.Service) string {
	if observed.DeploymentController == nil || observed.DeploymentController.Type == "" {
		return string(ecstypes.DeploymentControllerTypeEcs)
	}
	return string(observed.DeploymentController.Type)
}

// alarms translates deployment alarms.
func alarms(a *ecsv1alpha1.DeploymentAlarms) *ecstypes.DeploymentAlarms {
	if a == nil {
		return nil
	}
	return &ecstypes.DeploymentAlarms{AlarmNames: a.AlarmNames, Enable: a.Enable, Rollback: a.Rollback}
}

// alarmsMatch: alarms the spec does not set match anything; ECS leaving them out is alarms off.
func alarmsMatch(want *ecsv1alpha1.DeploymentAlarms, got *ecstypes.DeploymentAlarms) bool {
	if want == nil {
		return true
	}
	if got == nil {
		return !want.Enable && !want.Rollback && len(want.AlarmNames) == 0
	}
	return want.Enable == got.Enable && want.Rollback == got.Rollback && sameSet(want.AlarmNames, got.AlarmNames)
}

func strategyKey(it ecstypes.CapacityProviderStrategyItem) string {
	return fmt.Sprintf("%s|%d|%d", aws.ToString(it.CapacityProvider), it.Weight, it.Base)
}

// sameUnordered compares two lists as sets of their keys.
func sameUnordered[T any](a, b []T, key func(T) string) bool {
	var ka, kb []string
	for _, x := range a {
		ka = append(ka, key(x))
	}
	for _, x := range b {
		kb = append(kb, key(x))
	}
	return sameSet(ka, kb)
}

// sdkEqual compares SDK values member by member (their unexported noSmithyDocumentSerde too).
func sdkEqual(a, b any) bool {
	return cmp.Equal(a, b, cmp.Exporter(func(reflect.Type) bool { return true }))
}
