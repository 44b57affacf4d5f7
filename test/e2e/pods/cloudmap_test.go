package pods_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/nodeless-dev/nodeless/internal/cloudmapapi"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// cloudMap is the data plane's Cloud Map, on the same endpoint and credentials as its ECS.
func (c *cluster) cloudMap(t *testing.T) *servicediscovery.Client {
	t.Helper()
	creds, err := credentials.LoadOrCreate(filepath.Join(c.env.StateDir, "credentials"))
	if err != nil {
		t.Fatalf("data plane credentials: %v", err)
	}
	sd, err := cloudmapapi.NewClient(context.Background(), ecsapi.Options{
		Endpoint: c.env.DataPlaneEndpoint, Region: dataplane.DefaultRegion,
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
	}, c.env.DataPlaneEndpoint)
	if err != nil {
		t.Fatalf("Cloud Map client: %v", err)
	}
	return sd
}

// serviceTaskIPs are the IDs and the addresses (sorted) of an ECS service's RUNNING tasks.
func (c *cluster) serviceTaskIPs(t *testing.T, cl, service string) (ids, ips []string) {
	t.Helper()
	ctx := t.Context()
	arns, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cl), ServiceName: aws.String(service), DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil || len(arns.TaskArns) == 0 {
		return nil, nil
	}
	out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cl), Tasks: arns.TaskArns})
	if err != nil {
		return nil, nil
	}
	for _, tk := range out.Tasks {
		if aws.ToString(tk.LastStatus) != "RUNNING" {
			continue
		}
		arn := aws.ToString(tk.TaskArn)
		ids = append(ids, arn[strings.LastIndex(arn, "/")+1:])
		ips = append(ips, taskIP(tk))
	}
	slices.Sort(ips)
	return ids, ips
}

func taskIP(tk ecstypes.Task) string {
	for _, a := range tk.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// cloudMapService creates the private DNS namespace namespace and in it the Cloud Map service
// name with a DNS record of each type given (TTL 1 s), as a user does with the SDK.
func cloudMapService(t *testing.T, sd *servicediscovery.Client, namespace, name string, records ...sdtypes.RecordType) *sdtypes.Service {
	t.Helper()
	ctx := t.Context()
	op, err := sd.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String(namespace), Vpc: aws.String("vpc-local")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sd.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: op.OperationId})
	if err != nil {
		t.Fatal(err)
	}
	var dns []sdtypes.DnsRecord
	for _, r := range records {
		dns = append(dns, sdtypes.DnsRecord{Type: r, TTL: aws.Int64(1)})
	}
	cm, err := sd.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String(name), NamespaceId: aws.String(got.Operation.Targets["NAMESPACE"]),
		DnsConfig: &sdtypes.DnsConfig{DnsRecords: dns}})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Service
}

// ecsServiceTaskIPs returns the addresses of the RUNNING tasks of the ecs.nodeless.dev Service
// name in namespace ns once there are want of them; otherwise nil and what is missing.
func (c *cluster) ecsServiceTaskIPs(t *testing.T, ns, name string, want int) ([]string, string) {
	t.Helper()
	arn, err := c.kubectlOutput("-n", ns, "get", "services.ecs.nodeless.dev", name, "-o", "jsonpath={.status.serviceArn}")
	if err != nil || arn == "" {
		return nil, fmt.Sprintf("no serviceArn yet (%v)", err)
	}
	parts := strings.Split(arn, "/")
	_, ips := c.serviceTaskIPs(t, parts[len(parts)-2], parts[len(parts)-1])
	if len(ips) != want {
		return nil, fmt.Sprintf("%d RUNNING tasks, want %d", len(ips), want)
	}
	return ips, ""
}

// waitServiceNames waits until host, looked up by the Pod at asker, answers exactly the addresses
// of the 2 RUNNING tasks of the ecs.nodeless.dev Service api in namespace ns.
func (c *cluster) waitServiceNames(t *testing.T, ns, asker, host string) {
	t.Helper()
	eventually(t, host+" answering the ECS Service's 2 RUNNING tasks", func() (bool, string) {
		ips, why := c.ecsServiceTaskIPs(t, ns, "api", 2)
		if ips == nil {
			return false, why
		}
		got, err := c.podGet(asker, "/lookup?host="+host)
		return err == nil && got == strings.Join(ips, "\n"), fmt.Sprintf("%q (%v), want %q", got, err, ips)
	})
}

// TestCloudMapNames (issue 9, item 2, ECS-native): a private DNS namespace and a Cloud Map service
// made with the SDK; an ECS service with serviceRegistries registers its RUNNING tasks; a client
// task resolves NAME.NAMESPACE (A and SRV) to them through the VPC's DNS server and connects;
// scaling changes the answers; a stopping task leaves them while its container still runs (it
// waits 10 s after SIGTERM); registrations and names survive a kill -9 of nodeless.
func TestCloudMapNames(t *testing.T) {
	c, sd, _ := startNames(t)
	ctx := t.Context()
	const cl = "cloudmap"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	cm := cloudMapService(t, sd, "shop.local", "web", sdtypes.RecordTypeA, sdtypes.RecordTypeSrv)

	must(c.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cl)}))
	must(c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("cm-web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(webV1),
			Command:      []string{"-listen", fmt.Sprintf(":%d", podPort), "-term-delay", "10s"},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(podPort)}}}},
	}))
	must(c.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cl), ServiceName: aws.String("web"), TaskDefinition: aws.String("cm-web"),
		DesiredCount: aws.Int32(2), ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn, ContainerName: aws.String("web"), ContainerPort: aws.Int32(podPort)}}}))
	run, err := c.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cl), TaskDefinition: aws.String("cm-web")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask of the client: %v", err)
	}
	var client string
	eventually(t, "the client task RUNNING", func() (bool, string) {
		out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cl), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}})
		if err != nil || len(out.Tasks) != 1 {
			return false, fmt.Sprint(err)
		}
		client = taskIP(out.Tasks[0])
		return aws.ToString(out.Tasks[0].LastStatus) == "RUNNING", aws.ToString(out.Tasks[0].LastStatus)
	})

	lookup := func(query string) (string, error) { return c.podGet(client, "/lookup?"+query) }
	// expectNames waits for n RUNNING tasks and for the names to answer exactly them.
	expectNames := func(what string, n int) []string {
		t.Helper()
		var ips []string
		eventually(t, what, func() (bool, string) {
			var ids []string
			ids, ips = c.serviceTaskIPs(t, cl, "web")
			if len(ips) != n {
				return false, fmt.Sprintf("%d RUNNING tasks", len(ips))
			}
			host, err := lookup("host=web.shop.local")
			if n == 0 {
				return err != nil && strings.Contains(err.Error(), "404"), fmt.Sprintf("A: %q (%v), want 404 not found", host, err)
			}
			if err != nil || host != strings.Join(ips, "\n") {
				return false, fmt.Sprintf("A: %q (%v), want %q", host, err, strings.Join(ips, "\n"))
			}
			var want []string
			for _, id := range ids {
				want = append(want, fmt.Sprintf("%s.web.shop.local. %d", id, podPort))
			}
			slices.Sort(want)
			srv, err := lookup("srv=web.shop.local")
			return err == nil && srv == strings.Join(want, "\n"), fmt.Sprintf("SRV: %q (%v), want %q", srv, err, want)
		})
		return ips
	}
	expectNames("web.shop.local answering the 2 RUNNING tasks", 2)
	body, err := c.podGet(client, "/fetch?url="+fmt.Sprintf("http://web.shop.local:%d/args", podPort))
	if err != nil || !strings.Contains(body, "-term-delay") {
		t.Errorf("the client reaching web.shop.local: %q, %v", body, err)
	}
	if _, err := lookup("host=nothere.shop.local"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a name the namespace does not have: %v; want 404 not found", err)
	}

	must(c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cl), Service: aws.String("web"), DesiredCount: aws.Int32(3)}))
	ips := expectNames("web.shop.local answering 3 tasks after scaling out", 3)

	must(c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cl), Service: aws.String("web"), DesiredCount: aws.Int32(2)}))
	left := expectNames("web.shop.local answering 2 tasks after scaling in", 2)
	gone := slices.DeleteFunc(slices.Clone(ips), func(ip string) bool { return slices.Contains(left, ip) })
	// The stopped task waits 10 s after SIGTERM: it still answers on its address now.
	if len(gone) != 1 {
		t.Fatalf("scaling in from %v left %v", ips, left)
	}
	if _, err := c.podGet(gone[0], "/"); err != nil {
		t.Errorf("the task scaled in left the names only once it was gone (%v); want while it stops", err)
	}

	c.env.Kill(t)
	c.env.Restart(t)
	list, err := sd.ListInstances(ctx, &servicediscovery.ListInstancesInput{ServiceId: cm.Id})
	if err != nil || len(list.Instances) != 2 {
		t.Errorf("instances after kill -9 and restart: %v, %v; want 2", list, err)
	}
	expectNames("web.shop.local answering the 2 tasks after kill -9 and restart", 2)

	must(c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cl), Service: aws.String("web"), DesiredCount: aws.Int32(0)}))
	expectNames("no answer at desiredCount 0", 0)
	must(c.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cl), Service: aws.String("web")}))
	must(c.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cl), Task: run.Tasks[0].TaskArn}))
}

// clientPodManifest is a Kubernetes Pod name (label app=name) of image that looks names up and
// fetches URLs (/lookup, /fetch).
func clientPodManifest(name, image string) string {
	return `---
apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, labels: {app: ` + name + `}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: ` + image + `
    args: ["-listen", ":8080"]
`
}

// clusterAndTaskDefinition is an ECS Cluster cluster and a TaskDefinition api of the
// ecs.nodeless.dev CRDs: one essential container of image listening on 8080, with portMapping.
func clusterAndTaskDefinition(cluster, image, portMapping string) string {
	return `apiVersion: ecs.nodeless.dev/v1alpha1
kind: Cluster
metadata: {name: ` + cluster + `}
spec: {}
---
apiVersion: ecs.nodeless.dev/v1alpha1
kind: TaskDefinition
metadata: {name: api}
spec:
  cpu: "256"
  memory: "512"
  networkMode: awsvpc
  requiresCompatibilities: [FARGATE]
  containerDefinitions:
  - name: api
    image: ` + image + `
    essential: true
    command: ["-listen", ":8080"]
    portMappings: [` + portMapping + `]
`
}

// startNames starts a cluster with the test images loaded and returns it, the data plane's Cloud
// Map and the test's namespace.
func startNames(t *testing.T) (*cluster, *servicediscovery.Client, string) {
	t.Helper()
	c := startCluster(t)
	c.loadImages(t)
	return c, c.cloudMap(t), c.env.Namespace
}

// cloudMapManifest is an ECS Cluster, TaskDefinition and Service of the ecs.nodeless.dev CRDs whose
// Service registers in the Cloud Map service registryArn (with the spelling of AWS's ECS
// controller for Kubernetes, registryARN), and a Kubernetes Pod that looks names up.
func cloudMapManifest(image, registryArn string) string {
	return clusterAndTaskDefinition("names", image, "{containerPort: 8080}") + `---
apiVersion: ecs.nodeless.dev/v1alpha1
kind: Service
metadata: {name: api}
spec:
  clusterRef: {name: names}
  taskDefinitionRef: {name: api}
  desiredCount: 2
  serviceRegistries: [{registryARN: "` + registryArn + `"}]
` + clientPodManifest("asker", image)
}

// TestCloudMapNamesFromManifest: the same names for an ECS Service applied as a manifest of the
// ecs.nodeless.dev CRDs (controller → CreateService with serviceRegistries), asked by a Pod.
func TestCloudMapNamesFromManifest(t *testing.T) {
	c, sd, ns := startNames(t)
	ctx := t.Context()
	cm := cloudMapService(t, sd, "corp", "api", sdtypes.RecordTypeA)
	c.apply(t, ns, cloudMapManifest(webV1, aws.ToString(cm.Arn)))
	asker := c.readyPods(t, ns, "app=asker", 1)[0].Status.PodIP
	c.waitServiceNames(t, ns, asker, "api.corp.")
	c.kubectl(t, "-n", ns, "delete", "services.ecs.nodeless.dev", "api", "--wait=true", "--timeout="+kubectlWait)
	eventually(t, "no instance once the ECS Service is deleted", func() (bool, string) {
		list, err := sd.ListInstances(ctx, &servicediscovery.ListInstancesInput{ServiceId: cm.Id})
		return err == nil && len(list.Instances) == 0, fmt.Sprintf("%v, %v", list, err)
	})
}

// serviceConnectManifest is an ECS Service of the ecs.nodeless.dev CRDs publishing its named port
// http (8080) through Service Connect in namespace shop as api.shop:80, and a Pod that asks.
func serviceConnectManifest(image string) string {
	return clusterAndTaskDefinition("connect", image, "{containerPort: 8080, name: http}") + `---
apiVersion: ecs.nodeless.dev/v1alpha1
kind: Service
metadata: {name: api}
spec:
  clusterRef: {name: connect}
  taskDefinitionRef: {name: api}
  desiredCount: 2
  serviceConnectConfiguration:
    enabled: true
    namespace: shop
    services:
    - portName: http
      clientAliases: [{port: 80, dnsName: api.shop}]
` + clientPodManifest("asker", image)
}

// TestServiceConnectNames (issue 9, item 2, Service Connect): an ECS Service applied as a manifest
// with serviceConnectConfiguration; a client reaches its client alias api.shop:80, answered with a
// virtual address of the Service Connect range where the data plane's proxy forwards to the
// Service's RUNNING tasks on 8080; deleting the Service removes the name.
func TestServiceConnectNames(t *testing.T) {
	c, sd, ns := startNames(t)
	ctx := t.Context()
	if _, err := sd.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	c.apply(t, ns, serviceConnectManifest(webV1))
	asker := c.readyPods(t, ns, "app=asker", 1)[0].Status.PodIP
	eventually(t, "api.shop answering a virtual address, the ECS Service's 2 tasks behind it", func() (bool, string) {
		ips, why := c.ecsServiceTaskIPs(t, ns, "api", 2)
		if ips == nil {
			return false, why
		}
		host, err := c.podGet(asker, "/lookup?host=api.shop.")
		vip, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !aliasRange.Contains(vip) {
			return false, fmt.Sprintf("%q (%v), want one address of %s", host, err, aliasRange)
		}
		body, err := c.podGet(asker, "/fetch?url=http://api.shop:80/args")
		return err == nil && strings.Contains(body, "-listen"), fmt.Sprintf("the client reaching api.shop:80: %q, %v", body, err)
	})
	c.kubectl(t, "-n", ns, "delete", "services.ecs.nodeless.dev", "api", "--wait=true", "--timeout="+kubectlWait)
	eventually(t, "api.shop gone with the ECS Service", func() (bool, string) {
		got, err := c.podGet(asker, "/lookup?host=api.shop.")
		return err != nil && strings.Contains(err.Error(), "404"), fmt.Sprintf("%q, %v", got, err)
	})
}
