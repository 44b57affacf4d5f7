package awsservice_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/awsservice"
	"github.com/nodeless-dev/nodeless/internal/controller/controllertest"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/ecsapi/ecstest"
	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(testenv.Main(m))
}

// wait bounds every wait of these tests; it only ends a test that would hang.
const wait = time.Minute

// motoEnv is moto_server with a VPC of two subnets and a private DNS namespace, the
// controllers on the real kube-apiserver against it, and SDK clients to look at moto's state.
type motoEnv struct {
	t       *testing.T
	ctx     context.Context
	c       client.Client
	ns      string
	elb     *elbv2.Client
	sd      *sd.Client
	subnets []string
	nsID    string
	cfg     controller.Config
	m       *controller.Manager
	stop    func()
	// ops counts the calls of every client (the test's own too).
	ops *opCounter
}

// opCounter counts SDK calls by operation (an SDK middleware, so the seams need no decorator).
type opCounter struct {
	mu  sync.Mutex
	ops map[string]int
	// onlyMarked: count only the calls made with a context carrying markedCall (the clients are
	// shared with the running controllers, whose calls must not count as the marked caller's).
	onlyMarked bool
}

// markedCall marks the context of the calls an opCounter with onlyMarked counts.
type markedCall struct{}

func (c *opCounter) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("nodeless-count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		c.mu.Lock()
		if !c.onlyMarked || ctx.Value(markedCall{}) != nil {
			c.ops[awsmiddleware.GetOperationName(ctx)]++
		}
		c.mu.Unlock()
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

// countOnlyMarked sets onlyMarked.
func (c *opCounter) countOnlyMarked(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onlyMarked = on
}

// take returns the counted calls and starts counting anew.
func (c *opCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.ops
	c.ops = map[string]int{}
	return m
}

// writes are the calls of ops that change AWS state (all but Describe*, List*, Get*).
func writes(ops map[string]int) map[string]int {
	w := map[string]int{}
	for op, n := range ops {
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") && !strings.HasPrefix(op, "Get") {
			w[op] = n
		}
	}
	return w
}

// syncFresh runs the Steps of a new reconciler (as after a restart) on the Service name twice:
// the first may only read, the second calls nothing. Only the new reconciler's calls count: the
// running controllers share the clients.
func (e *motoEnv) syncFresh(name string) {
	e.t.Helper()
	var svc corev1.Service
	if err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.ns, Name: name}, &svc); err != nil {
		e.t.Fatal(err)
	}
	r := awsservice.NewReconciler(e.c, e.c, e.cfg.AWSServiceClients, record.NewFakeRecorder(100), *e.cfg.AWSServices)
	ctx := context.WithValue(e.ctx, markedCall{}, true)
	e.ops.countOnlyMarked(true)
	defer e.ops.countOnlyMarked(false)
	e.ops.take()
	if p := r.Sync(ctx, svc.DeepCopy()); p != nil {
		e.t.Fatalf("sync after a restart: %v", p)
	}
	first := e.ops.take()
	if len(first) == 0 {
		e.t.Error("the restarted controller's first sync counted no AWS call: it must read what exists (or the count misses its calls)")
	}
	if w := writes(first); len(w) != 0 {
		e.t.Errorf("a restarted controller wrote to AWS for a converged Service: %v", w)
	}
	if p := r.Sync(ctx, svc.DeepCopy()); p != nil {
		e.t.Fatalf("second sync: %v", p)
	}
	if ops := e.ops.take(); len(ops) != 0 {
		e.t.Errorf("a converged Service cost AWS calls at rest: %v", ops)
	}
}

func startMoto(t *testing.T) *motoEnv {
	t.Helper()
	c, te := controllertest.Kube(t)
	endpoint := ecstest.StartMoto(t)
	e := &motoEnv{t: t, ctx: context.Background(), c: c, ns: te.Namespace}
	opts := ecsapi.Options{Region: ecstest.Region, AccessKeyID: ecstest.AccessKeyID, SecretAccessKey: ecstest.SecretAccessKey}
	cfg, err := ecsapi.LoadConfig(e.ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.ops = &opCounter{ops: map[string]int{}}
	ec2c := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.BaseEndpoint, o.APIOptions = aws.String(endpoint), append(o.APIOptions, e.ops.add)
	})
	e.elb = elbv2.NewFromConfig(cfg, func(o *elbv2.Options) {
		o.BaseEndpoint, o.APIOptions = aws.String(endpoint), append(o.APIOptions, e.ops.add)
	})
	e.sd = sd.NewFromConfig(cfg, func(o *sd.Options) {
		o.BaseEndpoint, o.APIOptions = aws.String(endpoint), append(o.APIOptions, e.ops.add)
	})
	vpc, err := ec2c.CreateVpc(e.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		s, err := ec2c.CreateSubnet(e.ctx, &ec2.CreateSubnetInput{
			VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az),
		})
		if err != nil {
			t.Fatal(err)
		}
		e.subnets = append(e.subnets, aws.ToString(s.Subnet.SubnetId))
	}
	if _, err := e.sd.CreatePrivateDnsNamespace(e.ctx, &sd.CreatePrivateDnsNamespaceInput{
		Name: aws.String("svc.cluster.local"), Vpc: vpc.Vpc.VpcId,
	}); err != nil {
		t.Fatal(err)
	}
	nss, err := e.sd.ListNamespaces(e.ctx, &sd.ListNamespacesInput{})
	if err != nil || len(nss.Namespaces) != 1 {
		t.Fatalf("namespaces: %v %v", nss, err)
	}
	e.nsID = aws.ToString(nss.Namespaces[0].Id)
	e.cfg = controller.Config{
		RestConfig: te.Config, ECS: ecstest.Client(t, endpoint), Limits: controller.NoRateLimit(),
		Namespaces: []string{e.ns}, AllowRestart: true,
		AWSServices: &awsservice.Options{
			LoadBalancers: true, Subnets: e.subnets, NamespaceID: e.nsID, Cluster: "test",
		},
		AWSServiceClients: awsservice.Clients{ELBv2: e.elb, CloudMap: e.sd, EC2: ec2c},
	}
	e.m, e.stop = controllertest.Run(t, e.cfg)
	return e
}

func (e *motoEnv) restart() {
	e.stop()
	e.m, e.stop = controllertest.Run(e.t, e.cfg)
}

// service creates a selector-less Service (its EndpointSlices are the test's, not kcm's).
func (e *motoEnv) service(name string, typ corev1.ServiceType, annotations map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Annotations: annotations},
		Spec:       corev1.ServiceSpec{Type: typ, Ports: ports},
	}
	if typ == corev1.ServiceTypeLoadBalancer {
		svc.Spec.LoadBalancerClass = aws.String(awsservice.DefaultLoadBalancerClass)
	}
	if err := e.c.Create(e.ctx, svc); err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// endpoints creates or replaces the EndpointSlice of the Service name: addresses → ready.
func (e *motoEnv) endpoints(name, port string, portNumber int32, pod string, addrs map[string]bool) {
	e.t.Helper()
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Namespace: e.ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "test.nodeless.dev",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: aws.String(port), Port: aws.Int32(portNumber), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	ips := make([]string, 0, len(addrs))
	for ip := range addrs {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	for _, ip := range ips {
		ep := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: aws.Bool(addrs[ip])}}
		if pod != "" {
			ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: e.ns, Name: pod}
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	var cur discoveryv1.EndpointSlice
	err := e.c.Get(e.ctx, client.ObjectKeyFromObject(s), &cur)
	switch {
	case apierrors.IsNotFound(err):
		err = e.c.Create(e.ctx, s)
	case err == nil:
		s.ResourceVersion = cur.ResourceVersion
		err = e.c.Update(e.ctx, s)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// update changes svc with change, read anew after a conflict (the controller writes the
// Service's finalizer and status meanwhile).
func (e *motoEnv) update(svc *corev1.Service, change func(*corev1.Service)) {
	e.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.c.Get(e.ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return err
		}
		change(svc)
		return e.c.Update(e.ctx, svc)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// loadBalancers are moto's load balancers.
func (e *motoEnv) loadBalancers() []elbv2types.LoadBalancer {
	e.t.Helper()
	out, err := e.elb.DescribeLoadBalancers(e.ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.LoadBalancers
}

// targets are the targets of the target group arn, "IP:port", sorted.
func (e *motoEnv) targets(arn string) []string {
	e.t.Helper()
	out, err := e.elb.DescribeTargetHealth(e.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		e.t.Fatal(err)
	}
	var ts []string
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth != nil && d.TargetHealth.State == elbv2types.TargetHealthStateEnumDraining {
			continue
		}
		ts = append(ts, fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
	}
	sort.Strings(ts)
	return ts
}

// targetGroups are the target groups of moto by name.
func (e *motoEnv) targetGroups() map[string]elbv2types.TargetGroup {
	e.t.Helper()
	out, err := e.elb.DescribeTargetGroups(e.ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]elbv2types.TargetGroup{}
	for _, tg := range out.TargetGroups {
		m[aws.ToString(tg.TargetGroupName)] = tg
	}
	return m
}

// discovery returns the Cloud Map services of the namespace, name → sorted instance ids.
func (e *motoEnv) discovery() map[string][]string {
	e.t.Helper()
	out, err := e.sd.ListServices(e.ctx, &sd.ListServicesInput{Filters: []sdtypes.ServiceFilter{{
		Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{e.nsID}, Condition: sdtypes.FilterConditionEq,
	}}})
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string][]string{}
	for _, s := range out.Services {
		in, err := e.sd.ListInstances(e.ctx, &sd.ListInstancesInput{ServiceId: s.Id})
		if err != nil {
			e.t.Fatal(err)
		}
		ids := []string{}
		for _, i := range in.Instances {
			ids = append(ids, aws.ToString(i.Id)+"="+i.Attributes["AWS_INSTANCE_IPV4"])
		}
		sort.Strings(ids)
		m[aws.ToString(s.Name)] = ids
	}
	return m
}

func (e *motoEnv) hostname(name string) string {
	var svc corev1.Service
	if err := e.c.Get(e.ctx, client.ObjectKey{Namespace: e.ns, Name: name}, &svc); err != nil {
		e.t.Fatal(err)
	}
	if len(svc.Status.LoadBalancer.Ingress) == 0 {
		return ""
	}
	return svc.Status.LoadBalancer.Ingress[0].Hostname
}

// TestLoadBalancerServiceOnMoto: a Service of type LoadBalancer gets one network load balancer
// (scheme from the annotation) whose listener forwards to a target group of IP targets = the
// ready endpoints, with the readiness probe's health check and the annotated deregistration
// delay; its DNS name is in the status; changes of endpoints and ports follow; a restart makes
// no second load balancer; deletion deletes it all.
func TestLoadBalancerServiceOnMoto(t *testing.T) {
	e := startMoto(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: e.ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "nginx", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
				PeriodSeconds: 15, FailureThreshold: 4,
			},
		}}},
	}
	if err := e.c.Create(e.ctx, pod); err != nil {
		t.Fatal(err)
	}
	e.endpoints("web", "http", 8080, "web-1", map[string]bool{"10.0.1.10": true, "10.0.1.11": false})
	svc := e.service("web", corev1.ServiceTypeLoadBalancer, map[string]string{
		awsservice.SchemeAnnotation:                awsservice.SchemeInternetFacing,
		awsservice.TargetGroupAttributesAnnotation: "deregistration_delay.timeout_seconds=10",
		awsservice.ProxyProtocolAnnotation:         "*",
	}, corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP})

	testwait.For(t, wait, 100*time.Millisecond, "the load balancer's DNS name in the status", func() (bool, string) {
		h := e.hostname("web")
		return h != "", "hostname " + h
	})
	lb, tg := e.checkCreated()
	testwait.For(t, wait, 100*time.Millisecond, "the ready endpoint as the only target", func() (bool, string) {
		ts := e.targets(aws.ToString(tg.TargetGroupArn))
		return slices.Equal(ts, []string{"10.0.1.10:8080"}), strings.Join(ts, ",")
	})

	// The second endpoint becomes ready, the first stops being ready.
	e.endpoints("web", "http", 8080, "web-1", map[string]bool{"10.0.1.10": false, "10.0.1.11": true})
	testwait.For(t, wait, 100*time.Millisecond, "the targets to follow the endpoints", func() (bool, string) {
		ts := e.targets(aws.ToString(tg.TargetGroupArn))
		return slices.Equal(ts, []string{"10.0.1.11:8080"}), strings.Join(ts, ",")
	})
	// Cloud Map follows in the same sync, after the targets: wait for it too, or the restarted
	// reconciler below counts the running controller's last writes as its own.
	testwait.For(t, wait, 100*time.Millisecond, "Cloud Map to follow the endpoints", func() (bool, string) {
		d := e.discovery()["web."+e.ns]
		return slices.Equal(d, []string{"10.0.1.11=10.0.1.11"}), strings.Join(d, ",")
	})

	e.syncFresh("web")

	// A restart, then a change: still one load balancer.
	e.restart()
	e.update(svc, func(svc *corev1.Service) {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "admin", Port: 9000, TargetPort: intstr.FromInt32(9000), Protocol: corev1.ProtocolTCP})
	})
	testwait.For(t, wait, 100*time.Millisecond, "a second listener", func() (bool, string) {
		ls, err := e.elb.DescribeListeners(e.ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
		if err != nil {
			return false, err.Error()
		}
		return len(ls.Listeners) == 2, fmt.Sprintf("%d listeners", len(ls.Listeners))
	})
	if lbs := e.loadBalancers(); len(lbs) != 1 {
		t.Errorf("%d load balancers after a restart and a change, want 1", len(lbs))
	}
	if tgs := e.targetGroups(); len(tgs) != 2 {
		t.Errorf("%d target groups for two ports, want 2", len(tgs))
	}

	// Without the PROXY protocol annotation the target groups stop sending the header.
	e.update(svc, func(svc *corev1.Service) { delete(svc.Annotations, awsservice.ProxyProtocolAnnotation) })
	testwait.For(t, wait, 100*time.Millisecond, "proxy_protocol_v2.enabled false on both target groups", func() (bool, string) {
		var got []string
		for _, g := range e.targetGroups() {
			got = append(got, e.attribute(aws.ToString(g.TargetGroupArn), "proxy_protocol_v2.enabled"))
		}
		return slices.Equal(got, []string{"false", "false"}), strings.Join(got, ",")
	})

	// No longer a LoadBalancer: the load balancer and its target groups go, the name stays.
	e.update(svc, func(svc *corev1.Service) {
		svc.Spec.Type, svc.Spec.LoadBalancerClass, svc.Spec.AllocateLoadBalancerNodePorts, svc.Spec.ExternalTrafficPolicy = corev1.ServiceTypeClusterIP, nil, nil, ""
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	})
	testwait.For(t, wait, 100*time.Millisecond, "the load balancer to go", func() (bool, string) {
		lbs, tgs := e.loadBalancers(), e.targetGroups()
		return len(lbs)+len(tgs) == 0, fmt.Sprintf("%d load balancers, %d target groups; events: %s", len(lbs), len(tgs), e.events("web"))
	})
	testwait.For(t, wait, 100*time.Millisecond, "the status without the load balancer", func() (bool, string) {
		h := e.hostname("web")
		return h == "", "hostname " + h
	})
	if d := e.discovery(); len(d["web."+e.ns]) != 1 {
		t.Errorf("Cloud Map after the type change: %v, want web.%s with its ready endpoint", d, e.ns)
	}

	if err := e.c.Delete(e.ctx, svc); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, wait, 100*time.Millisecond, "the Service to be finalized", func() (bool, string) {
		err := e.c.Get(e.ctx, client.ObjectKeyFromObject(svc), &corev1.Service{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if lbs, tgs, names := e.loadBalancers(), e.targetGroups(), e.discovery(); len(lbs)+len(tgs)+len(names) != 0 {
		t.Errorf("left after deletion: %d load balancers, target groups %v, Cloud Map services %v", len(lbs), tgs, names)
	}
}

// checkCreated checks moto's state for the Service web of TestLoadBalancerServiceOnMoto: one
// internet-facing NLB named in the status, one IP target group with the probe's HTTP health
// check and the annotated delay, one listener forwarding to it.
func (e *motoEnv) checkCreated() (elbv2types.LoadBalancer, elbv2types.TargetGroup) {
	t := e.t
	t.Helper()
	lbs := e.loadBalancers()
	if len(lbs) != 1 {
		t.Fatalf("%d load balancers, want 1", len(lbs))
	}
	lb := lbs[0]
	if lb.Type != elbv2types.LoadBalancerTypeEnumNetwork || lb.Scheme != elbv2types.LoadBalancerSchemeEnumInternetFacing || aws.ToString(lb.DNSName) != e.hostname("web") {
		t.Errorf("load balancer %s: type %s, scheme %s, DNS %s (status %s)", aws.ToString(lb.LoadBalancerName), lb.Type, lb.Scheme, aws.ToString(lb.DNSName), e.hostname("web"))
	}
	tgs := e.targetGroups()
	if len(tgs) != 1 {
		t.Fatalf("target groups %v, want 1", tgs)
	}
	var tg elbv2types.TargetGroup
	for _, v := range tgs {
		tg = v
	}
	got := fmt.Sprintf("%s %s %d %s %s %s %d %d", tg.TargetType, tg.Protocol, aws.ToInt32(tg.Port), tg.HealthCheckProtocol,
		aws.ToString(tg.HealthCheckPath), aws.ToString(tg.HealthCheckPort), aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.UnhealthyThresholdCount))
	if want := "ip TCP 80 HTTP /healthz traffic-port 15 4"; got != want {
		t.Errorf("target group: got %q, want %q", got, want)
	}
	attrs, err := e.elb.DescribeTargetGroupAttributes(e.ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	if v := attr(attrs.Attributes, "deregistration_delay.timeout_seconds"); v != "10" {
		t.Errorf("deregistration delay %q, want 10", v)
	}
	if v := attr(attrs.Attributes, "proxy_protocol_v2.enabled"); v != "true" {
		t.Errorf("proxy_protocol_v2.enabled %q, want true (the Service's PROXY protocol annotation)", v)
	}
	ls, err := e.elb.DescribeListeners(e.ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Listeners) != 1 || aws.ToInt32(ls.Listeners[0].Port) != 80 || ls.Listeners[0].Protocol != elbv2types.ProtocolEnumTcp ||
		aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != aws.ToString(tg.TargetGroupArn) {
		t.Errorf("listeners: %+v", ls.Listeners)
	}
	return lb, tg
}

// TestClusterIPServiceOnMoto: a ClusterIP Service gets a Cloud Map service NAME.NAMESPACE whose
// instances are its ready endpoints; they follow the endpoints; deletion deletes it.
func TestClusterIPServiceOnMoto(t *testing.T) {
	e := startMoto(t)
	e.endpoints("backend", "grpc", 9090, "", map[string]bool{"10.0.2.5": true, "10.0.2.6": true, "10.0.2.7": false})
	svc := e.service("backend", corev1.ServiceTypeClusterIP, nil,
		corev1.ServicePort{Name: "grpc", Port: 9090, Protocol: corev1.ProtocolTCP})
	e.service("skipped", corev1.ServiceTypeClusterIP, map[string]string{awsservice.DiscoveryAnnotation: "false"},
		corev1.ServicePort{Name: "x", Port: 1, Protocol: corev1.ProtocolTCP})
	name := "backend." + e.ns
	testwait.For(t, wait, 100*time.Millisecond, "the Cloud Map service with the ready endpoints", func() (bool, string) {
		d := e.discovery()
		return cmp.Equal(d, map[string][]string{name: {"10.0.2.5=10.0.2.5", "10.0.2.6=10.0.2.6"}}), fmt.Sprint(d)
	})
	e.endpoints("backend", "grpc", 9090, "", map[string]bool{"10.0.2.5": false, "10.0.2.6": true, "10.0.2.7": true})
	testwait.For(t, wait, 100*time.Millisecond, "the instances to follow the endpoints", func() (bool, string) {
		d := e.discovery()
		return cmp.Equal(d, map[string][]string{name: {"10.0.2.6=10.0.2.6", "10.0.2.7=10.0.2.7"}}), fmt.Sprint(d)
	})
	e.syncFresh("backend")
	e.restart()
	e.endpoints("backend", "grpc", 9090, "", map[string]bool{"10.0.2.8": true})
	testwait.For(t, wait, 100*time.Millisecond, "the instances after a restart", func() (bool, string) {
		d := e.discovery()
		return cmp.Equal(d, map[string][]string{name: {"10.0.2.8=10.0.2.8"}}), fmt.Sprint(d)
	})
	// The Pod controller withdraws a Pod being deleted: its instance goes before the
	// EndpointSlice says anything, and then it is drained.
	r := e.m.AWSServices()
	pod := &corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.2.8"}}
	r.Withdraw("uid-8", "10.0.2.8")
	testwait.For(t, wait, 100*time.Millisecond, "the withdrawn address to leave Cloud Map", func() (bool, string) {
		d := e.discovery()
		return cmp.Equal(d, map[string][]string{name: {}}) && r.Drained(pod), fmt.Sprintf("%v drained %v", d, r.Drained(pod))
	})

	if err := e.c.Delete(e.ctx, svc); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, wait, 100*time.Millisecond, "the Cloud Map service to be deleted", func() (bool, string) {
		d := e.discovery()
		return len(d) == 0, fmt.Sprint(d)
	})
}

// events are the Events of the object name, "reason: message" per line.
func (e *motoEnv) events(name string) string {
	var list corev1.EventList
	if err := e.c.List(e.ctx, &list, client.InNamespace(e.ns)); err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == name {
			fmt.Fprintf(&b, "\n  %s (x%d): %s", ev.Reason, ev.Count, ev.Message)
		}
	}
	return b.String()
}

func attr(as []elbv2types.TargetGroupAttribute, key string) string {
	for _, a := range as {
		if aws.ToString(a.Key) == key {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// attribute is the value of the attribute key of the target group arn ("" when not reported).
func (e *motoEnv) attribute(arn, key string) string {
	e.t.Helper()
	out, err := e.elb.DescribeTargetGroupAttributes(e.ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		e.t.Fatal(err)
	}
	return attr(out.Attributes, key)
}
