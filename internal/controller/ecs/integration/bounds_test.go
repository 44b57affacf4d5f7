package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// TestECSBoundsInTheSchema: members whose bounds ECS documents (ECS API reference: lengths,
// characters, ports) are held to them by the API server, so a value ECS or the local data plane
// would refuse is refused on apply, naming the field, instead of failing later at the ECS call.
// Each bound is tried on both sides: the last value ECS takes is accepted, the first it refuses is
// refused.
func TestECSBoundsInTheSchema(t *testing.T) {
	c, env := kube(t)
	ctx := context.Background()
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: env.Namespace} }
	connect := func(name string, cs ecsv1alpha1.ServiceConnectService) *ecsv1alpha1.Service {
		return &ecsv1alpha1.Service{ObjectMeta: meta(name), Spec: ecsv1alpha1.ServiceSpec{TaskDefinition: "web",
			ServiceMembers: ecsv1alpha1.ServiceMembers{ServiceConnectConfiguration: &ecsv1alpha1.ServiceConnectConfiguration{
				Enabled: true, Services: []ecsv1alpha1.ServiceConnectService{cs}}}}}
	}
	alias := func(name, dnsName string) *ecsv1alpha1.Service {
		return connect(name, ecsv1alpha1.ServiceConnectService{PortName: "http",
			ClientAliases: []ecsv1alpha1.ServiceConnectClientAlias{{Port: 80, DnsName: dnsName}}})
	}
	registry := func(name string, port, containerPort *int32) *ecsv1alpha1.Service {
		return &ecsv1alpha1.Service{ObjectMeta: meta(name), Spec: ecsv1alpha1.ServiceSpec{TaskDefinition: "web",
			ServiceMembers: ecsv1alpha1.ServiceMembers{ServiceRegistries: []ecsv1alpha1.ServiceRegistry{{
				RegistryArn: "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-1", Port: port, ContainerPort: containerPort}}}}}
	}
	container := func(name string, cd ecsv1alpha1.ContainerDefinition) *ecsv1alpha1.TaskDefinition {
		if cd.Name == "" {
			cd.Name = "app"
		}
		if cd.Image == "" {
			cd.Image = "nginx"
		}
		return &ecsv1alpha1.TaskDefinition{ObjectMeta: meta(name), Spec: ecsv1alpha1.TaskDefinitionSpec{
			ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{cd}}}
	}
	portName := func(name, pn string) *ecsv1alpha1.TaskDefinition {
		return container(name, ecsv1alpha1.ContainerDefinition{PortMappings: []ecsv1alpha1.PortMapping{{ContainerPort: 80, Name: pn}}})
	}
	volume := func(name, vn string) *ecsv1alpha1.TaskDefinition {
		td := container(name, ecsv1alpha1.ContainerDefinition{})
		td.Spec.Volumes = []ecsv1alpha1.Volume{{Name: vn}}
		return td
	}
	task := func(name, startedBy string) *ecsv1alpha1.Task {
		return &ecsv1alpha1.Task{ObjectMeta: meta(name), Spec: ecsv1alpha1.TaskSpec{TaskDefinition: "web", StartedBy: startedBy}}
	}
	digest := "@sha256:" + strings.Repeat("ab", 32)
	const aliasPath = "spec.serviceConnectConfiguration.services[0].clientAliases[0].dnsName"
	for _, tc := range []struct {
		name  string
		obj   client.Object
		parts []string // parts of the refusal; none when it must be accepted
	}{
		// ServiceConnectClientAlias.dnsName: up to 127 characters, not starting with a hyphen.
		{"alias dnsName of 127", alias("alias-127", strings.Repeat("a", 63)+"."+strings.Repeat("b", 63)), nil},
		{"alias dnsName of 128", alias("alias-128", strings.Repeat("a", 63)+"."+strings.Repeat("b", 64)), []string{aliasPath, "127"}},
		{"alias dnsName with a leading hyphen", alias("alias-hyphen", "-web.shop"), []string{aliasPath, "should match"}},
		{"alias dnsName with a space", alias("alias-space", "web shop"), []string{aliasPath, "should match"}},
		// ServiceConnectService.ingressPortOverride: a port the proxy listens on.
		{"ingressPortOverride 0", connect("ingress-0", ecsv1alpha1.ServiceConnectService{PortName: "http", IngressPortOverride: aws.Int32(0)}),
			[]string{"spec.serviceConnectConfiguration.services[0].ingressPortOverride", "greater than or equal to 1"}},
		{"ingressPortOverride 65535", connect("ingress-max", ecsv1alpha1.ServiceConnectService{PortName: "http", IngressPortOverride: aws.Int32(65535)}), nil},
		// ServiceConnectService.portName (up to 64) and discoveryName (up to 63, a DNS label of
		// Cloud Map), not starting with a hyphen.
		{"portName with a leading hyphen", connect("portname-hyphen", ecsv1alpha1.ServiceConnectService{PortName: "-http"}),
			[]string{"spec.serviceConnectConfiguration.services[0].portName", "should match"}},
		{"discoveryName of 63", connect("discovery-63", ecsv1alpha1.ServiceConnectService{PortName: "http", DiscoveryName: "_" + strings.Repeat("d", 62)}), nil},
		{"discoveryName of 64", connect("discovery-64", ecsv1alpha1.ServiceConnectService{PortName: "http", DiscoveryName: strings.Repeat("d", 64)}),
			[]string{"spec.serviceConnectConfiguration.services[0].discoveryName", "63"}},
		{"discoveryName with a period", connect("discovery-period", ecsv1alpha1.ServiceConnectService{PortName: "http", DiscoveryName: "web.shop"}),
			[]string{"spec.serviceConnectConfiguration.services[0].discoveryName", "should match"}},
		// ServiceRegistry.port and containerPort: ports of an SRV record.
		{"registry port 0", registry("registry-port-0", aws.Int32(0), nil), []string{"spec.serviceRegistries[0].port", "greater than or equal to 1"}},
		{"registry containerPort 0", registry("registry-cport-0", nil, aws.Int32(0)), []string{"spec.serviceRegistries[0].containerPort", "greater than or equal to 1"}},
		{"registry port 65535", registry("registry-port-max", aws.Int32(65535), nil), nil},
		// PortMapping.name: up to 64, not starting with a hyphen.
		{"port mapping name of 64", portName("pm-64", strings.Repeat("p", 64)), nil},
		{"port mapping name of 65", portName("pm-65", strings.Repeat("p", 65)),
			[]string{"spec.containerDefinitions[0].portMappings[0].name", "64"}},
		{"port mapping name with a period", portName("pm-period", "http.alt"),
			[]string{"spec.containerDefinitions[0].portMappings[0].name", "should match"}},
		// ContainerDefinition.image: 255 characters before an optional @sha256:<64 hex>.
		{"image of 255 with a digest", container("image-255", ecsv1alpha1.ContainerDefinition{Image: strings.Repeat("i", 255) + digest}), nil},
		{"image of 256", container("image-256", ecsv1alpha1.ContainerDefinition{Image: strings.Repeat("i", 256)}),
			[]string{"spec.containerDefinitions[0].image", "should match"}},
		{"image with a short digest", container("image-digest", ecsv1alpha1.ContainerDefinition{Image: "nginx@sha256:abc"}),
			[]string{"spec.containerDefinitions[0].image", "should match"}},
		{"image with a space", container("image-space", ecsv1alpha1.ContainerDefinition{Image: "nginx latest"}),
			[]string{"spec.containerDefinitions[0].image", "should match"}},
		// Volume.name: letters, digits, underscores and hyphens.
		{"volume name", volume("volume-ok", "data_1-a"), nil},
		{"volume name with a period", volume("volume-period", "data.1"), []string{"spec.volumes[0].name", "should match"}},
		// RunTask startedBy: letters, digits, hyphens, slashes and underscores.
		{"startedBy", task("startedby-ok", "nodeless/job_1-a"), nil},
		{"startedBy with a colon", task("startedby-colon", "job:1"), []string{"spec.startedBy", "should match"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Create(ctx, tc.obj, client.DryRunAll)
			if len(tc.parts) == 0 {
				if err != nil {
					t.Errorf("refused a value ECS takes: %v", err)
				}
				return
			}
			errContains(t, err, tc.parts...)
		})
	}
}
