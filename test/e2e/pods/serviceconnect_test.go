package pods_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// aliasRange is the Service Connect range `nodeless up` serves by default.
var aliasRange = netip.MustParsePrefix(cloudmap.DefaultAliasCIDR)

// vpcListeners are the TCP listeners inside the VPC's namespace on an address of aliasRange
// ("IP:port", sorted), and whether the range's local route is there; nothing when the namespace
// is gone. It looks from inside the namespace, as a task's packets would find them.
func (c *cluster) vpcListeners(t *testing.T) (listeners []string, routed bool) {
	t.Helper()
	path := vpc.NamespacePath(c.env.StateDir)
	if !vpc.IsNamespace(path) {
		return nil, false
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("opening the VPC's namespace: %v", err)
	}
	defer ns.Close()
	table, err := inNetNamespace(ns, func() ([]byte, error) { return os.ReadFile("/proc/thread-self/net/tcp") })
	if err != nil {
		t.Fatalf("reading the VPC's TCP sockets: %v", err)
	}
	for _, line := range strings.Split(string(table), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // LISTEN
			continue
		}
		if ap, ok := procAddr(f[1]); ok && aliasRange.Contains(ap.Addr()) {
			listeners = append(listeners, ap.String())
		}
	}
	slices.Sort(listeners)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink in the VPC's namespace: %v", err)
	}
	defer h.Close()
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_LOCAL}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("listing the VPC's local routes: %v", err)
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.String() == aliasRange.String() && r.Type == unix.RTN_LOCAL {
			routed = true
		}
	}
	return listeners, routed
}

// inNetNamespace runs fn on a thread of its own that joined ns; the thread is never reused (the
// goroutine ends locked to it).
func inNetNamespace(ns netns.NsHandle, fn func() ([]byte, error)) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		if err := netns.Set(ns); err != nil {
			done <- result{err: err}
			return
		}
		b, err := fn()
		done <- result{b, err}
	}()
	r := <-done
	return r.b, r.err
}

// procAddr parses a /proc/net/tcp address, "0101000A:0050" (IPv4 in host order, little endian
// here, and the port in hex).
func procAddr(s string) (netip.AddrPort, bool) {
	ip, port, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ip)
	p, perr := strconv.ParseUint(port, 16, 16)
	if !ok || err != nil || perr != nil || len(raw) != 4 {
		return netip.AddrPort{}, false
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], binary.LittleEndian.Uint32(raw))
	return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(p)), true
}

// TestServiceConnectProxy (issue 9, Service Connect alias port ≠ container port): an ECS service
// whose tasks serve on 8080 publishes the client alias web.shop:80; a client task resolves
// web.shop to a virtual address of the alias range (not a task's) and reaches the tasks through
// port 80, both of them; a task scaled in gets no new connection while it still runs its
// 10 s after SIGTERM; after kill -9 and a restart the name has the same address and works; an
// update that renames the alias frees the old name and its listener; `nodeless down` leaves no
// listener and no route, and the next start listens on the same address again; DeleteService
// closes the listener.
func TestServiceConnectProxy(t *testing.T) {
	c := startCluster(t)
	c.loadImages(t)
	ctx := t.Context()
	sd := c.cloudMap(t)
	const cl = "connect"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sd.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("shop")}))
	must(c.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cl)}))
	must(c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("sc-web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(webV1),
			Command:      []string{"-listen", fmt.Sprintf(":%d", podPort), "-term-delay", "10s"},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(podPort), Name: aws.String("http")}}}},
	}))
	connect := func(dnsName string, port int32) *ecstypes.ServiceConnectConfiguration {
		return &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String("shop"), Services: []ecstypes.ServiceConnectService{{
			PortName: aws.String("http"), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(port), DnsName: aws.String(dnsName)}}}}}
	}
	if podPort == 80 {
		t.Fatal("the test image serves on 80: the alias port must differ from it")
	}
	must(c.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cl), ServiceName: aws.String("web"), TaskDefinition: aws.String("sc-web"),
		DesiredCount: aws.Int32(2), ServiceConnectConfiguration: connect("web.shop", 80)}))
	t.Cleanup(func() { // when the test ends early: the cluster's clean-up waits for every task to stop
		_, _ = c.ecs.DeleteService(context.Background(), &ecs.DeleteServiceInput{Cluster: aws.String(cl), Service: aws.String("web"), Force: aws.Bool(true)})
	})
	sc := &connectCheck{c: c, t: t, cl: cl, client: c.connectClient(t, cl)}
	lookup, reachBoth := sc.lookup, sc.reachBoth
	var vip string
	eventually(t, "web.shop answering one address of the Service Connect range", func() (bool, string) {
		got, err := lookup("web.shop")
		a, perr := netip.ParseAddr(got)
		vip = got
		return err == nil && perr == nil && aliasRange.Contains(a), fmt.Sprintf("%q, %v", got, err)
	})
	reachBoth("web.shop:80 reaching both tasks on their port 8080", "web.shop:80", 2)
	if l, routed := c.vpcListeners(t); !slices.Equal(l, []string{vip + ":80"}) || !routed {
		t.Errorf("listeners in the VPC on the alias range: %v (routed %v), want [%s:80] routed", l, routed, vip)
	}

	// Scale in: the stopped task takes no new connection while it still runs.
	sc.scaleIn()

	c.env.Kill(t)
	c.env.Restart(t)
	eventually(t, "web.shop keeping its address after kill -9 and restart", func() (bool, string) {
		got, err := lookup("web.shop")
		return err == nil && got == vip, fmt.Sprintf("%q, %v; want %s", got, err, vip)
	})
	reachBoth("web.shop:80 reaching both tasks after kill -9 and restart", "web.shop:80", 2)

	// Renaming the alias frees the old name and its listener.
	must(c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cl), Service: aws.String("web"), ServiceConnectConfiguration: connect("www.shop", 81)}))
	var www string
	eventually(t, "www.shop answering, web.shop gone", func() (bool, string) {
		_, oldErr := lookup("web.shop")
		got, err := lookup("www.shop")
		www = got
		return err == nil && got != vip && oldErr != nil && strings.Contains(oldErr.Error(), "404"), fmt.Sprintf("www.shop %q %v, web.shop %v", got, err, oldErr)
	})
	reachBoth("www.shop:81 reaching both tasks", "www.shop:81", 2)
	eventually(t, "only www.shop's listener in the VPC", func() (bool, string) {
		l, routed := c.vpcListeners(t)
		return slices.Equal(l, []string{www + ":81"}) && routed, fmt.Sprintf("%v, routed %v", l, routed)
	})

	// nodeless down leaves nothing; the next start listens on the same address.
	c.env.Stop(t)
	c.down(t)
	if l, routed := c.vpcListeners(t); len(l) != 0 || routed {
		t.Errorf("after nodeless down: listeners %v, routed %v; want nothing left", l, routed)
	}
	c.env.Restart(t)
	eventually(t, "www.shop listening on the same address after down and a new start", func() (bool, string) {
		l, routed := c.vpcListeners(t)
		return slices.Equal(l, []string{www + ":81"}) && routed, fmt.Sprintf("%v, routed %v", l, routed)
	})

	must(c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cl), Service: aws.String("web"), DesiredCount: aws.Int32(0)}))
	must(c.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cl), Service: aws.String("web")}))
	eventually(t, "no listener once the service is deleted", func() (bool, string) {
		l, _ := c.vpcListeners(t)
		return len(l) == 0, fmt.Sprint(l)
	})
}

// connectCheck is TestServiceConnectProxy's client task in cluster cl, and what it asks.
type connectCheck struct {
	c          *cluster
	t          *testing.T
	cl, client string
}

// lookup is the client's answer for name: its one address, or the error (404: no such name).
func (s *connectCheck) lookup(name string) (string, error) {
	return s.c.podGet(s.client, "/lookup?host="+name)
}

// through fetches / through alias (name:port) from the client, on a new connection each time (the
// client's HTTP client would otherwise keep one connection, and so one task, for every fetch).
func (s *connectCheck) through(alias string) (string, error) {
	return s.c.podGet(s.client, "/fetch?close=true&url=http://"+alias+"/")
}

// reachBoth waits for n RUNNING tasks of the service web and for alias to reach each of them; it
// returns their addresses.
func (s *connectCheck) reachBoth(what, alias string, n int) []string {
	s.t.Helper()
	var ips []string
	eventually(s.t, what, func() (bool, string) {
		_, ips = s.c.serviceTaskIPs(s.t, s.cl, "web")
		if len(ips) != n {
			return false, fmt.Sprintf("%d RUNNING tasks", len(ips))
		}
		hosts := map[string]string{}
		for _, ip := range ips {
			h, err := s.c.podGet(ip, "/")
			if err != nil {
				return false, fmt.Sprintf("task %s: %v", ip, err)
			}
			hosts[h] = ip
		}
		seen := map[string]bool{}
		for i := 0; i < 8*n && len(seen) < n; i++ {
			body, err := s.through(alias)
			if err != nil || hosts[body] == "" {
				return false, fmt.Sprintf("through %s: %q, %v; the RUNNING tasks are %v", alias, body, err, hosts)
			}
			seen[body] = true
		}
		return len(seen) == n, fmt.Sprintf("through %s reached %v of %v", alias, seen, hosts)
	})
	return ips
}

// scaleIn scales web from 2 to 3 to 2 tasks and checks that the task scaled in, deregistered and
// still running its 10 s after SIGTERM, takes no new connection through web.shop:80.
func (s *connectCheck) scaleIn() {
	t, c, ctx := s.t, s.c, s.t.Context()
	t.Helper()
	scale := func(n int32) {
		if _, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(s.cl), Service: aws.String("web"), DesiredCount: aws.Int32(n)}); err != nil {
			t.Fatal(err)
		}
	}
	scale(3)
	before := s.reachBoth("web.shop:80 reaching 3 tasks after scaling out", "web.shop:80", 3)
	scale(2)
	var goneHost string
	eventually(t, "one task deregistered by the scale-in", func() (bool, string) {
		_, ips := c.serviceTaskIPs(t, s.cl, "web")
		gone := slices.DeleteFunc(slices.Clone(before), func(ip string) bool { return slices.Contains(ips, ip) })
		if len(gone) != 1 || !c.deregistered(t, gone[0]) {
			return false, fmt.Sprintf("RUNNING %v of %v", ips, before)
		}
		h, err := c.podGet(gone[0], "/")
		goneHost = h
		return err == nil, fmt.Sprintf("the stopping task %s: %q, %v (it waits 10 s after SIGTERM)", gone[0], h, err)
	})
	for range 12 {
		if body, err := s.through("web.shop:80"); err != nil || body == goneHost {
			t.Fatalf("a connection through web.shop:80 after the scale-in: %q, %v; the stopping task is %q", body, err, goneHost)
		}
	}
}

// connectClient runs a standalone task of sc-web in cluster cl and returns its address once it is
// RUNNING.
func (c *cluster) connectClient(t *testing.T, cl string) string {
	t.Helper()
	ctx := t.Context()
	run, err := c.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cl), TaskDefinition: aws.String("sc-web")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask of the client: %v", err)
	}
	var ip string
	eventually(t, "the client task RUNNING", func() (bool, string) {
		out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cl), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}})
		if err != nil || len(out.Tasks) != 1 {
			return false, fmt.Sprint(err)
		}
		ip = taskIP(out.Tasks[0])
		return aws.ToString(out.Tasks[0].LastStatus) == "RUNNING", aws.ToString(out.Tasks[0].LastStatus)
	})
	t.Cleanup(func() {
		_, _ = c.ecs.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String(cl), Task: run.Tasks[0].TaskArn})
	})
	return ip
}

// deregistered reports whether no Cloud Map instance has the address ip (the scheduler removes a
// stopping task's instances before its containers get SIGTERM).
func (c *cluster) deregistered(t *testing.T, ip string) bool {
	t.Helper()
	ctx := t.Context()
	sd := c.cloudMap(t)
	svcs, err := sd.ListServices(ctx, &servicediscovery.ListServicesInput{})
	if err != nil {
		return false
	}
	for _, s := range svcs.Services {
		list, err := sd.ListInstances(ctx, &servicediscovery.ListInstancesInput{ServiceId: s.Id})
		if err != nil {
			return false
		}
		for _, i := range list.Instances {
			if i.Attributes["AWS_INSTANCE_IPV4"] == ip {
				return false
			}
		}
	}
	return true
}

// down runs `nodeless down` on the stopped cluster's state dir.
func (c *cluster) down(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.bin, "down", "--state-dir", c.env.StateDir, "--grace", "5s").CombinedOutput()
	if err != nil {
		t.Fatalf("nodeless down: %v\n%s", err, out)
	}
}
