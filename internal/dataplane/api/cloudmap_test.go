package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// cloudMapClient is an SDK Cloud Map client for url. DiscoverInstances' "data-" host prefix is
// turned off: the local data plane serves every operation on one address.
func cloudMapClient(url string) *servicediscovery.Client {
	return servicediscovery.New(servicediscovery.Options{
		Region:           testARNs.Region,
		BaseEndpoint:     aws.String(url),
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return testCreds, nil }),
		RetryMaxAttempts: 1,
	})
}

// privateNamespace creates a private DNS namespace and returns its ID (found through GetOperation,
// as Cloud Map clients do).
// noHostPrefix keeps DiscoverInstances on the endpoint's own host (the SDK would send it to
// data-<host>); it sets the flag inside the operation's stack, where the SDK reads it.
var noHostPrefix = servicediscovery.WithAPIOptions(func(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.After)
})

// dnsService creates the service name of namespace nsID with a record of each type given (TTL
// 5 s) and returns it.
func dnsService(t *testing.T, sd *servicediscovery.Client, nsID, name string, types ...sdtypes.RecordType) *sdtypes.Service {
	t.Helper()
	var records []sdtypes.DnsRecord
	for _, typ := range types {
		records = append(records, sdtypes.DnsRecord{Type: typ, TTL: aws.Int64(5)})
	}
	return must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(context.Background(), &servicediscovery.CreateServiceInput{
		Name: aws.String(name), NamespaceId: aws.String(nsID), DnsConfig: &sdtypes.DnsConfig{DnsRecords: records}})).Service
}

func privateNamespace(t *testing.T, sd *servicediscovery.Client, name string) string {
	t.Helper()
	ctx := context.Background()
	op := must[*servicediscovery.CreatePrivateDnsNamespaceOutput](t)(sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{
		Name: aws.String(name), Vpc: aws.String("vpc-local"), CreatorRequestId: aws.String("req-" + name),
	}))
	got := must[*servicediscovery.GetOperationOutput](t)(sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: op.OperationId}))
	if got.Operation.Status != sdtypes.OperationStatusSuccess || got.Operation.Type != sdtypes.OperationTypeCreateNamespace {
		t.Fatalf("GetOperation: %+v", got.Operation)
	}
	return got.Operation.Targets[string(sdtypes.OperationTargetTypeNamespace)]
}

func TestCloudMapNamespacesAndServices(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	nsID := privateNamespace(t, sd, "shop.local")
	if !strings.HasPrefix(nsID, "ns-") {
		t.Fatalf("namespace ID %q", nsID)
	}
	// A retry with the same CreatorRequestId is the same namespace; another creator is refused.
	privateNamespace(t, sd, "shop.local")
	_, err := sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("shop.local"), Vpc: aws.String("vpc-local")})
	var exists *sdtypes.NamespaceAlreadyExists
	if !errorAs(err, &exists) || aws.ToString(exists.NamespaceId) != nsID {
		t.Fatalf("second namespace of the name: %v", err)
	}
	ns := must[*servicediscovery.GetNamespaceOutput](t)(sd.GetNamespace(ctx, &servicediscovery.GetNamespaceInput{Id: aws.String(nsID)}))
	if ns.Namespace.Type != sdtypes.NamespaceTypeDnsPrivate || aws.ToString(ns.Namespace.Name) != "shop.local" ||
		aws.ToString(ns.Namespace.Arn) != "arn:aws:servicediscovery:us-east-1:000000000000:namespace/"+nsID {
		t.Errorf("GetNamespace: %+v", ns.Namespace)
	}

	svc := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, &servicediscovery.CreateServiceInput{
		Name: aws.String("web"), NamespaceId: aws.String(nsID), CreatorRequestId: aws.String("web-1"),
		DnsConfig:               &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(10)}, {Type: sdtypes.RecordTypeSrv, TTL: aws.Int64(10)}}},
		HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{},
	}))
	if svc.Service.DnsConfig.RoutingPolicy != sdtypes.RoutingPolicyMultivalue || !strings.HasPrefix(aws.ToString(svc.Service.Id), "srv-") {
		t.Errorf("CreateService: %+v", svc.Service)
	}
	again := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, &servicediscovery.CreateServiceInput{
		Name: aws.String("web"), NamespaceId: aws.String(nsID), CreatorRequestId: aws.String("web-1"),
		DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(10)}}},
	}))
	if aws.ToString(again.Service.Id) != aws.ToString(svc.Service.Id) {
		t.Errorf("CreateService retried made %s, want %s", aws.ToString(again.Service.Id), aws.ToString(svc.Service.Id))
	}
	_, err = sd.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String("WEB"), NamespaceId: aws.String(nsID),
		DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(10)}}}})
	var svcExists *sdtypes.ServiceAlreadyExists
	if !errorAs(err, &svcExists) || aws.ToString(svcExists.ServiceId) != aws.ToString(svc.Service.Id) {
		t.Fatalf("second service of the name: %v", err)
	}
	list := must[*servicediscovery.ListServicesOutput](t)(sd.ListServices(ctx, &servicediscovery.ListServicesInput{
		Filters: []sdtypes.ServiceFilter{{Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{nsID}}},
	}))
	if len(list.Services) != 1 || aws.ToString(list.Services[0].Name) != "web" {
		t.Errorf("ListServices: %+v", list.Services)
	}
	nss := must[*servicediscovery.ListNamespacesOutput](t)(sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{}))
	if len(nss.Namespaces) != 1 || aws.ToInt32(nss.Namespaces[0].ServiceCount) != 1 {
		t.Errorf("ListNamespaces: %+v", nss.Namespaces)
	}
	_, err = sd.DeleteNamespace(ctx, &servicediscovery.DeleteNamespaceInput{Id: aws.String(nsID)})
	wantAPIError(t, err, "ResourceInUse", "still has 1 services")
	must[*servicediscovery.DeleteServiceOutput](t)(sd.DeleteService(ctx, &servicediscovery.DeleteServiceInput{Id: svc.Service.Id}))
	_, err = sd.GetService(ctx, &servicediscovery.GetServiceInput{Id: svc.Service.Id})
	wantAPIError(t, err, "ServiceNotFound")
	must[*servicediscovery.DeleteNamespaceOutput](t)(sd.DeleteNamespace(ctx, &servicediscovery.DeleteNamespaceInput{Id: aws.String(nsID)}))
	_, err = sd.GetNamespace(ctx, &servicediscovery.GetNamespaceInput{Id: aws.String(nsID)})
	wantAPIError(t, err, "NamespaceNotFound", nsID)
}

func errorAs[T error](err error, target *T) bool { return err != nil && errors.As(err, target) }

func TestCloudMapInstances(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	nsID := privateNamespace(t, sd, "local")
	svc := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, &servicediscovery.CreateServiceInput{
		Name: aws.String("db"), NamespaceId: aws.String(nsID),
		DnsConfig:               &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeSrv, TTL: aws.Int64(5)}}},
		HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{},
	})).Service
	reg := func(id, ip, port, health string) {
		attrs := map[string]string{"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": port, "role": id}
		if health != "" {
			attrs["AWS_INIT_HEALTH_STATUS"] = health
		}
		op := must[*servicediscovery.RegisterInstanceOutput](t)(sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String(id), Attributes: attrs}))
		got := must[*servicediscovery.GetOperationOutput](t)(sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: op.OperationId}))
		if got.Operation.Targets["INSTANCE"] != id || got.Operation.Status != sdtypes.OperationStatusSuccess {
			t.Errorf("RegisterInstance's operation: %+v", got.Operation)
		}
	}
	reg("primary", "10.0.0.5", "5432", "")
	reg("replica", "10.0.0.6", "5432", "UNHEALTHY")
	list := must[*servicediscovery.ListInstancesOutput](t)(sd.ListInstances(ctx, &servicediscovery.ListInstancesInput{ServiceId: svc.Id}))
	var ids []string
	for _, i := range list.Instances {
		ids = append(ids, aws.ToString(i.Id))
	}
	if diff := cmp.Diff([]string{"primary", "replica"}, ids); diff != "" {
		t.Errorf("ListInstances (-want +got):\n%s", diff)
	}
	discover := func(health sdtypes.HealthStatusFilter, query map[string]string) []string {
		out := must[*servicediscovery.DiscoverInstancesOutput](t)(sd.DiscoverInstances(ctx, &servicediscovery.DiscoverInstancesInput{
			NamespaceName: aws.String("local"), ServiceName: aws.String("db"), HealthStatus: health, QueryParameters: query,
		}, noHostPrefix))
		var got []string
		for _, i := range out.Instances {
			got = append(got, aws.ToString(i.InstanceId))
		}
		slices.Sort(got)
		return got
	}
	if diff := cmp.Diff([]string{"primary"}, discover("", nil)); diff != "" {
		t.Errorf("DiscoverInstances healthy (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"replica"}, discover(sdtypes.HealthStatusFilterAll, map[string]string{"role": "replica"})); diff != "" {
		t.Errorf("DiscoverInstances ALL role=replica (-want +got):\n%s", diff)
	}
	must[*servicediscovery.UpdateInstanceCustomHealthStatusOutput](t)(sd.UpdateInstanceCustomHealthStatus(ctx, &servicediscovery.UpdateInstanceCustomHealthStatusInput{
		ServiceId: svc.Id, InstanceId: aws.String("replica"), Status: sdtypes.CustomHealthStatusHealthy,
	}))
	if diff := cmp.Diff([]string{"primary", "replica"}, discover("", nil)); diff != "" {
		t.Errorf("DiscoverInstances after the replica became healthy (-want +got):\n%s", diff)
	}
	_, err := sd.DeleteService(ctx, &servicediscovery.DeleteServiceInput{Id: svc.Id})
	wantAPIError(t, err, "ResourceInUse", "still has 2 instances")
	must[*servicediscovery.DeregisterInstanceOutput](t)(sd.DeregisterInstance(ctx, &servicediscovery.DeregisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("replica")}))
	_, err = sd.DeregisterInstance(ctx, &servicediscovery.DeregisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("replica")})
	wantAPIError(t, err, "InstanceNotFound", "replica")
}

// TestCloudMapBadInput: what the local Cloud Map cannot honour, or Cloud Map would refuse, is
// refused as InvalidInput naming the member.
func TestCloudMapBadInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	nsID := privateNamespace(t, sd, "local")
	a10 := []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(10)}}
	tests := map[string]struct {
		in    *servicediscovery.CreateServiceInput
		parts []string
	}{
		"health check": {&servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID), DnsConfig: &sdtypes.DnsConfig{DnsRecords: a10}, HealthCheckConfig: &sdtypes.HealthCheckConfig{Type: sdtypes.HealthCheckTypeHttp}}, []string{"HealthCheckConfig", "Route 53 health checks"}},
		"weighted":     {&servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID), DnsConfig: &sdtypes.DnsConfig{DnsRecords: a10, RoutingPolicy: sdtypes.RoutingPolicyWeighted}}, []string{"DnsConfig.RoutingPolicy", "MULTIVALUE"}},
		"AAAA":         {&servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID), DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeAaaa, TTL: aws.Int64(1)}}}}, []string{"DnsConfig.DnsRecords[0].Type", "AAAA"}},
		"no records":   {&servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID)}, []string{"DnsConfig", "required"}},
		"bad name":     {&servicediscovery.CreateServiceInput{Name: aws.String("-a"), NamespaceId: aws.String(nsID), DnsConfig: &sdtypes.DnsConfig{DnsRecords: a10}}, []string{"Name", "not a DNS name"}},
		"no namespace": {&servicediscovery.CreateServiceInput{Name: aws.String("a"), DnsConfig: &sdtypes.DnsConfig{DnsRecords: a10}}, []string{"NamespaceId", "required"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := sd.CreateService(ctx, tc.in)
			wantAPIError(t, err, "InvalidInput", tc.parts...)
		})
	}
	_, err := sd.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String("ns-missing"), DnsConfig: &sdtypes.DnsConfig{DnsRecords: a10}})
	wantAPIError(t, err, "NamespaceNotFound", "ns-missing")
	svc := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String("a"), NamespaceId: aws.String(nsID), DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeSrv, TTL: aws.Int64(1)}}}})).Service
	_, err = sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("i"), Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1"}})
	wantAPIError(t, err, "InvalidInput", "Attributes.AWS_INSTANCE_PORT")
	_, err = sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("i"), Attributes: map[string]string{"AWS_INSTANCE_IPV4": "::1", "AWS_INSTANCE_PORT": "1"}})
	wantAPIError(t, err, "InvalidInput", "Attributes.AWS_INSTANCE_IPV4")
	_, err = sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("i"), Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "1", "AWS_INIT_HEALTH_STATUS": "HEALTHY"}})
	wantAPIError(t, err, "InvalidInput", "AWS_INIT_HEALTH_STATUS", "HealthCheckCustomConfig")
	// A namespace in the cluster domain would never be answered: refused.
	_, err = sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("svc.cluster.local"), Vpc: aws.String("vpc-1")})
	wantAPIError(t, err, "InvalidInput", "Name", "cluster.local", "Kubernetes Services")
	// Operations not served are refused by name.
	_, err = sd.CreatePublicDnsNamespace(ctx, &servicediscovery.CreatePublicDnsNamespaceInput{Name: aws.String("example.com")})
	wantAPIError(t, err, "UnknownOperationException", "CreatePublicDnsNamespace", "CreatePrivateDnsNamespace")
}

// TestCloudMapSurvivesRestart: namespaces, services and instances are in the store; a new
// server on it serves them, and creates retried after the restart duplicate nothing.
func TestCloudMapSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	serve := func() (*servicediscovery.Client, func()) {
		st, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api.NewServer(api.Options{Store: st, Engine: &fakeEngine{}, ARNs: testARNs, Credentials: testCreds, Logger: testr.New(t)}))
		return cloudMapClient(srv.URL), func() { srv.Close(); st.Close() }
	}
	sd, stop := serve()
	nsID := privateNamespace(t, sd, "local")
	in := &servicediscovery.CreateServiceInput{Name: aws.String("web"), NamespaceId: aws.String(nsID), CreatorRequestId: aws.String("r1"),
		DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(5)}}}}
	svc := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, in)).Service
	must[*servicediscovery.RegisterInstanceOutput](t)(sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: svc.Id, InstanceId: aws.String("i1"), Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.9"}}))
	stop()
	sd, stop = serve()
	defer stop()
	if got := privateNamespace(t, sd, "local"); got != nsID {
		t.Errorf("namespace retried after the restart: %s, want %s", got, nsID)
	}
	again := must[*servicediscovery.CreateServiceOutput](t)(sd.CreateService(ctx, in)).Service
	if aws.ToString(again.Id) != aws.ToString(svc.Id) {
		t.Errorf("service retried after the restart: %+v", again)
	}
	got := must[*servicediscovery.GetServiceOutput](t)(sd.GetService(ctx, &servicediscovery.GetServiceInput{Id: svc.Id})).Service
	if aws.ToInt32(got.InstanceCount) != 1 {
		t.Errorf("instances after the restart: %d, want 1", aws.ToInt32(got.InstanceCount))
	}
}

// TestServiceRegistriesChecked: CreateService's serviceRegistries name a local Cloud Map service
// and, for SRV records, a port; what is wrong is refused naming the member.
func TestServiceRegistriesChecked(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, web("web")))
	nsID := privateNamespace(t, sd, "local")
	srv := dnsService(t, sd, nsID, "web", sdtypes.RecordTypeA, sdtypes.RecordTypeSrv)
	create := func(name string, regs ...ecstypes.ServiceRegistry) error {
		_, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), ServiceRegistries: regs})
		return err
	}
	wantAPIError(t, create("a", ecstypes.ServiceRegistry{RegistryArn: srv.Arn}), "InvalidParameterException", "serviceRegistries[0]", "SRV record", "port")
	wantAPIError(t, create("b", ecstypes.ServiceRegistry{RegistryArn: srv.Arn, ContainerName: aws.String("app"), ContainerPort: aws.Int32(9)}), "InvalidParameterException", "serviceRegistries[0]", "portMappings")
	wantAPIError(t, create("c", ecstypes.ServiceRegistry{RegistryArn: srv.Arn, Port: aws.Int32(1)}, ecstypes.ServiceRegistry{RegistryArn: srv.Arn, Port: aws.Int32(1)}), "InvalidParameterException", "one service registry")
	wantAPIError(t, create("d", ecstypes.ServiceRegistry{RegistryArn: aws.String(strings.Replace(aws.ToString(srv.Arn), "srv-", "srv-x", 1)), Port: aws.Int32(1)}), "InvalidParameterException", "serviceRegistries[0].registryArn", "not a Cloud Map service")
	if err := create("ok", ecstypes.ServiceRegistry{RegistryArn: srv.Arn, ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}); err != nil {
		t.Fatal(err)
	}
	out := must[*ecs.DescribeServicesOutput](t)(e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"ok"}}))
	if diff := cmp.Diff([]ecstypes.ServiceRegistry{{RegistryArn: srv.Arn, ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}, out.Services[0].ServiceRegistries,
		cmpopts.IgnoreUnexported(ecstypes.ServiceRegistry{})); diff != "" {
		t.Errorf("DescribeServices serviceRegistries (-want +got):\n%s", diff)
	}
	// UpdateService's serviceRegistries are checked the same way, and a change is a new deployment.
	_, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("ok"), ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: srv.Arn}}})
	wantAPIError(t, err, "InvalidParameterException", "serviceRegistries[0]", "SRV record")
	up := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("ok"),
		ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: srv.Arn, Port: aws.Int32(8080)}}}))
	if len(up.Service.Deployments) != 2 || aws.ToInt32(up.Service.ServiceRegistries[0].Port) != 8080 {
		t.Errorf("UpdateService serviceRegistries: %d deployments, registries %+v", len(up.Service.Deployments), up.Service.ServiceRegistries)
	}
}

// TestServiceConnectChecked: serviceConnectConfiguration names a namespace of the local Cloud Map
// and a named TCP port of the task definition; a client alias's port is any port (the proxy maps
// it to the container port), its dnsName a DNS name, each name and port given once;
// what the local data plane cannot honour is refused by name; the deployment reports the
// configuration (namespace as ARN) and the Cloud Map service it registers in.
func TestServiceConnectChecked(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	td := web("web")
	td.ContainerDefinitions[0].PortMappings[0].Name = aws.String("http")
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, td))
	op := must[*servicediscovery.CreateHttpNamespaceOutput](t)(sd.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("shop")}))
	nsID := must[*servicediscovery.GetOperationOutput](t)(sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: op.OperationId})).Operation.Targets["NAMESPACE"]
	sc := func(ns, portName string, port int32) *ecstypes.ServiceConnectConfiguration {
		return &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String(ns), Services: []ecstypes.ServiceConnectService{{
			PortName: aws.String(portName), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(port), DnsName: aws.String("web.shop")}}}}}
	}
	create := func(name string, c *ecstypes.ServiceConnectConfiguration) (*ecs.CreateServiceOutput, error) {
		return e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), ServiceConnectConfiguration: c})
	}
	_, err := create("a", sc("nope", "http", 8080))
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.namespace", "nope")
	_, err = create("b", sc("shop", "grpc", 8080))
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.services[0].portName", "grpc")
	// An alias's port is where the proxy listens: 1 to 65535, any of them (it may differ from the
	// container port); its dnsName is ECS's DNS name; a name and port is given once.
	for _, bad := range []struct {
		port        int32
		dnsName     string
		member, say string
	}{
		{0, "web.shop", "clientAliases[0].port", "1 to 65535"},
		{70000, "web.shop", "clientAliases[0].port", "65535"}, // the ECS model's range, checked first
		{80, "-web.shop", "clientAliases[0].dnsName", "not starting with a hyphen"},
		{80, "web/shop", "clientAliases[0].dnsName", "letters, digits"},
		{80, strings.Repeat("w", 128), "clientAliases[0].dnsName", "1 to 127"},
		{80, "a..b", "clientAliases[0].dnsName", "empty label"},
		{80, "10.0.1.1", "clientAliases[0].dnsName", "is an IP address"},
		{80, "localhost", "clientAliases[0].dnsName", "loopback"},
		{80, "kubernetes.default.svc.cluster.local", "clientAliases[0].dnsName", "Kubernetes cluster domain"},
	} {
		c := sc("shop", "http", bad.port)
		c.Services[0].ClientAliases[0].DnsName = aws.String(bad.dnsName)
		_, err = create("c", c)
		wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.services[0]."+bad.member, bad.say)
	}
	twice := sc("shop", "http", 80)
	twice.Services[0].ClientAliases = append(twice.Services[0].ClientAliases, ecstypes.ServiceConnectClientAlias{Port: aws.Int32(80), DnsName: aws.String("WEB.shop.")})
	_, err = create("c", twice)
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.services[0].clientAliases[1]", "web.shop port 80 is also serviceConnectConfiguration.services[0].clientAliases[0]")
	udp := web("udp")
	udp.ContainerDefinitions[0].PortMappings[0].Name = aws.String("dns")
	udp.ContainerDefinitions[0].PortMappings[0].Protocol = ecstypes.TransportProtocolUdp
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, udp))
	_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("c"), TaskDefinition: aws.String("udp"), DesiredCount: aws.Int32(0),
		ServiceConnectConfiguration: sc("shop", "dns", 53)})
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.services[0].portName", "TCP")
	tls := sc("shop", "http", 8080)
	tls.Services[0].Tls = &ecstypes.ServiceConnectTlsConfiguration{IssuerCertificateAuthority: &ecstypes.ServiceConnectTlsCertificateAuthority{AwsPcaAuthorityArn: aws.String("arn:aws:acm-pca:us-east-1:1:certificate-authority/x")}}
	_, err = create("d", tls)
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.services[0].tls", "not supported")

	// Port 80 to the container's 8080: the proxy maps one to the other.
	out := must[*ecs.CreateServiceOutput](t)(create("ok", sc("shop", "http", 80)))
	dep := out.Service.Deployments[0]
	if aws.ToString(dep.ServiceConnectConfiguration.Namespace) != "arn:aws:servicediscovery:us-east-1:000000000000:namespace/"+nsID ||
		len(dep.ServiceConnectResources) != 1 || aws.ToString(dep.ServiceConnectResources[0].DiscoveryName) != "http" {
		t.Fatalf("deployment's Service Connect: %+v %+v", dep.ServiceConnectConfiguration, dep.ServiceConnectResources)
	}
	list := must[*servicediscovery.ListServicesOutput](t)(sd.ListServices(ctx, &servicediscovery.ListServicesInput{}))
	if len(list.Services) != 1 || aws.ToString(list.Services[0].Arn) != aws.ToString(dep.ServiceConnectResources[0].DiscoveryArn) {
		t.Errorf("Cloud Map services: %+v", list.Services)
	}
	// Another service may not take the alias's name and port.
	_, err = create("other", sc("shop", "http", 80))
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.services[0].clientAliases[0]", "web.shop port 80", "already a client alias", "another port")
	// UpdateService with another alias is a new deployment carrying it.
	up := sc("shop", "http", 8080)
	up.Services[0].ClientAliases[0].DnsName = aws.String("web2.shop")
	upd := must[*ecs.UpdateServiceOutput](t)(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("ok"), ServiceConnectConfiguration: up}))
	if len(upd.Service.Deployments) != 2 || aws.ToString(upd.Service.Deployments[0].ServiceConnectConfiguration.Services[0].ClientAliases[0].DnsName) != "web2.shop" {
		t.Errorf("UpdateService serviceConnectConfiguration: %+v", upd.Service.Deployments)
	}
	if _, err := create("other", sc("shop", "http", 80)); err != nil {
		t.Errorf("the alias the update gave up is free again: %v", err)
	}
}

// TestServiceConnectAliasSharedAcrossPorts: two ECS services may give one client alias name on
// different ports (ECS: each name and port unique within the namespace): the name has one
// address, listening on each port for its own service's Cloud Map service, and keeps it while
// either service still gives the name; the same name and port from a second service is refused,
// naming the member and what to change.
func TestServiceConnectAliasSharedAcrossPorts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	td := web("web")
	td.ContainerDefinitions[0].PortMappings[0].Name = aws.String("http")
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, td))
	must[*servicediscovery.CreateHttpNamespaceOutput](t)(sd.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("shop")}))
	alias := func(discoveryName string, port int32) *ecstypes.ServiceConnectConfiguration {
		return &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String("shop"), Services: []ecstypes.ServiceConnectService{{
			PortName: aws.String("http"), DiscoveryName: aws.String(discoveryName),
			ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(port), DnsName: aws.String("api.shop")}}}}}
	}
	create := func(name string, c *ecstypes.ServiceConnectConfiguration) (*ecs.CreateServiceOutput, error) {
		return e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), ServiceConnectConfiguration: c})
	}
	// listeners are the alias's listeners as "VIP:port → Cloud Map service name".
	listeners := func() []string {
		t.Helper()
		var ls []cloudmap.AliasListener
		if err := e.store.View(func(tx *store.Tx) error {
			var err error
			ls, err = cloudmap.AliasListeners(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range ls {
			svc := must[*servicediscovery.GetServiceOutput](t)(sd.GetService(ctx, &servicediscovery.GetServiceInput{Id: aws.String(l.ServiceID)}))
			out = append(out, fmt.Sprintf("%s %s → %s", l.Name, l.Address, aws.ToString(svc.Service.Name)))
		}
		return out
	}
	must[*ecs.CreateServiceOutput](t)(create("api", alias("api", 80)))
	must[*ecs.CreateServiceOutput](t)(create("metrics", alias("metrics", 9090)))
	want := []string{"api.shop 10.0.1.1:80 → api", "api.shop 10.0.1.1:9090 → metrics"}
	if diff := cmp.Diff(want, listeners()); diff != "" {
		t.Errorf("listeners of a name two services share (-want +got):\n%s", diff)
	}
	_, err := create("other", alias("other", 9090))
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.services[0].clientAliases[0]", "api.shop port 9090",
		"already a client alias of", "service/default/metrics", "another port")
	must[*ecs.DeleteServiceOutput](t)(e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("api")}))
	if diff := cmp.Diff([]string{"api.shop 10.0.1.1:9090 → metrics"}, listeners()); diff != "" {
		t.Errorf("listeners once the first service is deleted (-want +got):\n%s", diff)
	}
	must[*ecs.CreateServiceOutput](t)(create("other", alias("other", 80)))
	if diff := cmp.Diff([]string{"api.shop 10.0.1.1:80 → other", "api.shop 10.0.1.1:9090 → metrics"}, listeners()); diff != "" {
		t.Errorf("listeners once another service takes the freed port (-want +got):\n%s", diff)
	}
}

// TestServiceConnectDefaults: a cluster's serviceConnectDefaults.namespace names a namespace of
// the local Cloud Map (a new name creates an HTTP namespace, as ECS does), is reported by its ARN,
// and is the namespace of a service that enables Service Connect without one; UpdateCluster with
// "" removes it (the namespace stays); a service without a namespace in a cluster without
// defaults is refused naming both.
func TestServiceConnectDefaults(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	td := web("web")
	td.ContainerDefinitions[0].PortMappings[0].Name = aws.String("http")
	must[*ecs.RegisterTaskDefinitionOutput](t)(e.ecs.RegisterTaskDefinition(ctx, td))

	created := must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName: aws.String("shop"), ServiceConnectDefaults: &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("shop.local")},
	}))
	nss := must[*servicediscovery.ListNamespacesOutput](t)(sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{}))
	if len(nss.Namespaces) != 1 || aws.ToString(nss.Namespaces[0].Name) != "shop.local" || nss.Namespaces[0].Type != sdtypes.NamespaceTypeHttp {
		t.Fatalf("namespaces after CreateCluster with a new default name: %+v", nss.Namespaces)
	}
	nsArn := aws.ToString(nss.Namespaces[0].Arn)
	if d := created.Cluster.ServiceConnectDefaults; d == nil || aws.ToString(d.Namespace) != nsArn {
		t.Errorf("the cluster's serviceConnectDefaults: %+v, want namespace %s", d, nsArn)
	}
	// The same name again (a second cluster) uses the namespace; it creates no second one.
	must[*ecs.CreateClusterOutput](t)(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName: aws.String("shop2"), ServiceConnectDefaults: &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String(nsArn)},
	}))
	if n := len(must[*servicediscovery.ListNamespacesOutput](t)(sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})).Namespaces); n != 1 {
		t.Errorf("%d namespaces after a second cluster named the first one's, want 1", n)
	}

	sc := &ecstypes.ServiceConnectConfiguration{Enabled: true, Services: []ecstypes.ServiceConnectService{{
		PortName: aws.String("http"), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(8080), DnsName: aws.String("web.shop")}}}}}
	out := must[*ecs.CreateServiceOutput](t)(e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("shop"),
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), ServiceConnectConfiguration: sc}))
	if got := aws.ToString(out.Service.Deployments[0].ServiceConnectConfiguration.Namespace); got != nsArn {
		t.Errorf("the service's Service Connect namespace: %s, want the cluster's %s", got, nsArn)
	}

	_, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(0), ServiceConnectConfiguration: sc})
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectConfiguration.namespace", "serviceConnectDefaults")
	_, err = e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bad"),
		ServiceConnectDefaults: &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-missing")}})
	wantAPIError(t, err, "InvalidParameterException", "serviceConnectDefaults.namespace", "ns-missing")

	up := must[*ecs.UpdateClusterOutput](t)(e.ecs.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("shop"),
		ServiceConnectDefaults: &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("")}}))
	if up.Cluster.ServiceConnectDefaults != nil {
		t.Errorf("UpdateCluster with namespace \"\": defaults %+v, want none", up.Cluster.ServiceConnectDefaults)
	}
	if n := len(must[*servicediscovery.ListNamespacesOutput](t)(sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})).Namespaces); n != 1 {
		t.Errorf("%d namespaces after the defaults were removed, want the namespace kept (1)", n)
	}
}

// TestCloudMapOperations (wire, aws-sdk-go-v2): ListOperations lists the operations with Cloud
// Map's filters; the registry keeps only the newest cloudmap.MaxOperations (an older one is
// OperationNotFound, and ListOperations pages through exactly the bound).
func TestCloudMapOperations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sd := cloudMapClient(e.url)
	nsID := privateNamespace(t, sd, "shop.local")
	svc := dnsService(t, sd, nsID, "web", sdtypes.RecordTypeA)
	register := func(id string) string {
		t.Helper()
		return aws.ToString(must[*servicediscovery.RegisterInstanceOutput](t)(sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{
			ServiceId: svc.Id, InstanceId: aws.String(id), Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1"}})).OperationId)
	}
	first := register("i-1")
	second := register("i-2")
	list := func(filters ...sdtypes.OperationFilter) []string {
		t.Helper()
		var ids []string
		p := servicediscovery.NewListOperationsPaginator(sd, &servicediscovery.ListOperationsInput{Filters: filters})
		for p.HasMorePages() {
			for _, op := range must[*servicediscovery.ListOperationsOutput](t)(p.NextPage(ctx)).Operations {
				ids = append(ids, aws.ToString(op.Id))
			}
		}
		return ids
	}
	now := time.Now().Unix()
	for _, tc := range []struct {
		name    string
		filters []sdtypes.OperationFilter
		want    int
	}{
		{"all", nil, 3},
		{"registrations", []sdtypes.OperationFilter{{Name: sdtypes.OperationFilterNameType, Values: []string{"REGISTER_INSTANCE"}}}, 2},
		{"of the namespace", []sdtypes.OperationFilter{{Name: sdtypes.OperationFilterNameNamespaceId, Values: []string{nsID}}}, 3},
		{"of the service, succeeded", []sdtypes.OperationFilter{{Name: sdtypes.OperationFilterNameServiceId, Values: []string{aws.ToString(svc.Id)}},
			{Name: sdtypes.OperationFilterNameStatus, Condition: sdtypes.FilterConditionIn, Values: []string{"SUCCESS", "FAIL"}}}, 2},
		{"updated in the last minute", []sdtypes.OperationFilter{{Name: sdtypes.OperationFilterNameUpdateDate, Condition: sdtypes.FilterConditionBetween,
			Values: []string{fmt.Sprint(now - 60), fmt.Sprint(now + 60)}}}, 3},
		{"updated an hour ago", []sdtypes.OperationFilter{{Name: sdtypes.OperationFilterNameUpdateDate, Condition: sdtypes.FilterConditionBetween,
			Values: []string{fmt.Sprint(now - 7200), fmt.Sprint(now - 3600)}}}, 0},
	} {
		if got := list(tc.filters...); len(got) != tc.want {
			t.Errorf("ListOperations %s: %d operations (%v), want %d", tc.name, len(got), got, tc.want)
		}
	}
	_, err := sd.ListOperations(ctx, &servicediscovery.ListOperationsInput{Filters: []sdtypes.OperationFilter{
		{Name: sdtypes.OperationFilterNameNamespaceId, Condition: sdtypes.FilterConditionIn, Values: []string{nsID}}}})
	wantAPIError(t, err, "InvalidInput", "Filters[0].Condition", "NAMESPACE_ID takes EQ")

	// Past the bound the oldest operations go first: 3 + 999 = 1002 made, the namespace's and the
	// first registration's are gone; one more and the second registration's goes too.
	for range cloudmap.MaxOperations - 1 {
		register("i-3")
	}
	_, err = sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: aws.String(first)})
	wantAPIError(t, err, "OperationNotFound", first, fmt.Sprint(cloudmap.MaxOperations))
	must[*servicediscovery.GetOperationOutput](t)(sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: aws.String(second)}))
	last := register("i-4")
	_, err = sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: aws.String(second)})
	wantAPIError(t, err, "OperationNotFound", second)
	if got := list(); len(got) != cloudmap.MaxOperations || got[len(got)-1] != last {
		t.Errorf("ListOperations after %d more registrations: %d operations, want %d ending with the last", cloudmap.MaxOperations, len(got), cloudmap.MaxOperations)
	}
}
