package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// TestDataPlaneVPC runs `nodeless dataplane` with two tasks on the local VPC and checks, with real
// containers: the awsvpc reporting of DescribeTasks (ENI attachment and containers' network
// interfaces, checked against the ECS model); that one task reaches the other by its address and
// is seen with its own; that a task reaches a server on the host's 127.0.0.1 through the VPC's NAT
// at 10.0.2.2; that after a kill -9 and a restart both tasks keep their addresses and nothing is
// duplicated (veths, namespaces, mounts, slirp4netns processes counted); that stopping a task
// frees its veth and namespace; that the nodeless process reaches a task with DataPlane.Dial; and
// that once everything is stopped and removed nothing is left and the host's interfaces, addresses,
// routes, rules, firewall rulesets and forwarding sysctls are as they were.
func TestDataPlaneVPC(t *testing.T) {
	bin := requireBinary(t)
	ctx := context.Background()
	before := hostNetwork(t)
	stateDir := t.TempDir()
	t.Cleanup(func() { // last: after the data plane, containers and mounts are gone
		if got := countVPC(t, stateDir); got != (vpcCounts{}) {
			t.Errorf("left behind after everything stopped: %+v", got)
		}
		if diff := cmp.Diff(before, hostNetwork(t)); diff != "" {
			t.Errorf("the host's network changed (-before +after):\n%s", diff)
		}
	})
	t.Cleanup(func() { dataplanetest.UnmountUnder(t, stateDir) })
	t.Cleanup(func() { dataplanetest.KillLeftoverShims(t, stateDir) })
	load := exec.Command(bin, "image", "load", "--state-dir", stateDir, testimage.Tarball(t, ""))
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("nodeless image load: %v\n%s", err, out)
	}
	addr := dataplanetest.FreeAddress(t)
	p := dataplanetest.StartProcess(t, bin, stateDir, addr, 1)
	t.Cleanup(func() {
		if p != nil {
			cleanUpDataplane(t, &p, stateDir)
		}
	})
	c := conforming(t, clientFor(ctx, t, stateDir, addr, p))
	createCluster(ctx, t, c)
	td := registerRevision(ctx, t, c, "vpc", webCommand("vpc"), false)
	arns := runTasks(ctx, t, c, td, 2)
	tasks := waitRunning(ctx, t, c, arns)
	a, b := tasks[0], tasks[1]
	ipA, ipB := checkAwsvpc(t, a), checkAwsvpc(t, b)
	if ipA == ipB {
		t.Fatalf("both tasks have address %s", ipA)
	}
	portA := hostPort(t, a)

	if got := fetchVia(t, portA, "http://"+ipB+":8080/remote"); !strings.HasPrefix(got, ipA+":") {
		t.Errorf("task b saw task a's request come from %q, want %s:port", got, ipA)
	}
	hostURL := serveOnLoopback(t, "hello from the host")
	if got := fetchVia(t, portA, strings.Replace(hostURL, "127.0.0.1", vpc.HostLoopback.String(), 1)); got != "hello from the host" {
		t.Errorf("task a fetching the host's loopback server through the VPC got %q", got)
	}
	two := vpcCounts{Veths: 2, Namespaces: 3, Mounts: 3, Uplinks: 1}
	if got := countVPC(t, stateDir).tasks(); got != two {
		t.Errorf("with two tasks: %+v, want %+v", got, two)
	}

	uplink := uplinkPid(t, stateDir)
	p.Kill9(t)
	t.Log("killed -9")
	if got := countVPC(t, stateDir).tasks(); got != two {
		t.Errorf("after kill -9 (the VPC, its uplink and the tasks outlive the process): %+v, want %+v", got, two)
	}
	p = dataplanetest.StartProcess(t, bin, stateDir, addr, 2)
	c = conforming(t, clientFor(ctx, t, stateDir, addr, p))
	tasks = waitRunning(ctx, t, c, arns)
	if got := []string{checkAwsvpc(t, tasks[0]), checkAwsvpc(t, tasks[1])}; !cmp.Equal(got, []string{ipA, ipB}) {
		t.Errorf("addresses after kill -9 and restart %v, want %v", got, []string{ipA, ipB})
	}
	if got := fetchVia(t, hostPort(t, tasks[0]), "http://"+ipB+":8080/remote"); !strings.HasPrefix(got, ipA+":") {
		t.Errorf("after the restart, task b saw task a's request come from %q", got)
	}
	if got := countVPC(t, stateDir).tasks(); got != two {
		t.Errorf("after kill -9 and restart: %+v, want %+v", got, two)
	}
	if got := uplinkPid(t, stateDir); got != uplink {
		t.Errorf("slirp4netns pid %d after the restart, want the adopted %d", got, uplink)
	}

	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(e2eCluster), Task: aws.String(arns[1])}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "task b STOPPED with its ENI DELETED and its veth gone", func(ctx context.Context) (bool, string, error) {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e2eCluster), Tasks: arns[1:]})
		if err != nil || len(out.Tasks) != 1 || len(out.Tasks[0].Attachments) != 1 {
			return false, fmt.Sprintf("%+v", out), err
		}
		task := out.Tasks[0]
		counts := countVPC(t, stateDir).tasks()
		state := fmt.Sprintf("%s, ENI %s, %+v", aws.ToString(task.LastStatus), aws.ToString(task.Attachments[0].Status), counts)
		return aws.ToString(task.LastStatus) == "STOPPED" && aws.ToString(task.Attachments[0].Status) == "DELETED" &&
			counts == vpcCounts{Veths: 1, Namespaces: 2, Mounts: 2, Uplinks: 1}, state, nil
	})

	p.Terminate(t)
	p = nil
	if got := countVPC(t, stateDir); got != (vpcCounts{Veths: 1, Namespaces: 2, Mounts: 2}) {
		t.Errorf("after a clean stop (task a's namespace stays for re-attach, slirp4netns stops, no spare is left): %+v", got)
	}
	keepLogs(t, stateDir)
	// An in-process data plane on the same state dir: the nodeless process dials task a's address.
	env := dataplanetest.StartIn(t, stateDir) // its cleanup purges the containers and stops it
	dial := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: env.DataPlane.Dial}}
	resp, err := dial.Get("http://" + ipA + ":8080/remote")
	if err != nil {
		t.Fatalf("DataPlane.Dial to task a: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "10.244.0.1:") {
		t.Errorf("task a saw DataPlane.Dial come from %q, want the gateway 10.244.0.1:port", body)
	}
}

// conforming is c with every response checked against the ECS model.
func conforming(t *testing.T, c *ecs.Client) *ecs.Client {
	return ecs.New(c.Options(), func(o *ecs.Options) {
		o.HTTPClient = &http.Client{Transport: dataplanetest.ConformanceTransport(t)}
	})
}

func runTasks(ctx context.Context, t *testing.T, c *ecs.Client, td string, n int32) []string {
	t.Helper()
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String(e2eCluster), TaskDefinition: aws.String(td), Count: aws.Int32(n), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-0e2e"}, SecurityGroups: []string{"sg-0e2e"},
		}},
	})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	var arns []string
	for _, task := range out.Tasks {
		if eni := task.Attachments; len(eni) != 1 || aws.ToString(eni[0].Status) != "PRECREATED" {
			t.Errorf("RunTask's task attachments %+v, want one PRECREATED ENI", eni)
		}
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	return arns
}

// waitRunning waits until every task is RUNNING and returns them in the order of arns.
func waitRunning(ctx context.Context, t *testing.T, c *ecs.Client, arns []string) []ecstypes.Task {
	t.Helper()
	var tasks []ecstypes.Task
	waitFor(ctx, t, "the tasks run", func(ctx context.Context) (bool, string, error) {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e2eCluster), Tasks: arns})
		if err != nil {
			return false, "", err
		}
		byArn := map[string]ecstypes.Task{}
		for _, task := range out.Tasks {
			byArn[aws.ToString(task.TaskArn)] = task
		}
		tasks = tasks[:0]
		for _, arn := range arns {
			if task, ok := byArn[arn]; ok && aws.ToString(task.LastStatus) == "RUNNING" {
				tasks = append(tasks, task)
			}
		}
		return len(tasks) == len(arns), describeAll(out.Tasks), nil
	})
	return tasks
}

var (
	eniIDPattern  = regexp.MustCompile(`^eni-[0-9a-f]{17}$`)
	macPattern    = regexp.MustCompile(`^0a:58(:[0-9a-f]{2}){4}$`)
	vpcSubnet     = netip.MustParsePrefix("10.244.0.0/16")
	detailsInECSs = []string{"subnetId", "networkInterfaceId", "macAddress", "privateDnsName", "privateIPv4Address"}
)

// checkAwsvpc checks the task's ENI attachment and its containers' network interfaces as awsvpc
// reports them, and returns the task's address.
func checkAwsvpc(t *testing.T, task ecstypes.Task) string {
	t.Helper()
	if len(task.Attachments) != 1 {
		t.Fatalf("task %s has %d attachments, want its ENI", aws.ToString(task.TaskArn), len(task.Attachments))
	}
	eni := task.Attachments[0]
	details := map[string]string{}
	var names []string
	for _, d := range eni.Details {
		names = append(names, aws.ToString(d.Name))
		details[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	if aws.ToString(eni.Type) != "ElasticNetworkInterface" || aws.ToString(eni.Status) != "ATTACHED" || aws.ToString(eni.Id) == "" {
		t.Errorf("ENI %s %s %q, want ElasticNetworkInterface ATTACHED with an id", aws.ToString(eni.Type), aws.ToString(eni.Status), aws.ToString(eni.Id))
	}
	if diff := cmp.Diff(detailsInECSs, names); diff != "" {
		t.Errorf("ENI details (-want +got):\n%s", diff)
	}
	ip, err := netip.ParseAddr(details["privateIPv4Address"])
	if err != nil || !vpcSubnet.Contains(ip) {
		t.Errorf("privateIPv4Address %q, want one of %s", details["privateIPv4Address"], vpcSubnet)
	}
	want := map[string]bool{
		"subnetId":           details["subnetId"] == "subnet-0e2e",
		"networkInterfaceId": eniIDPattern.MatchString(details["networkInterfaceId"]),
		"macAddress":         macPattern.MatchString(details["macAddress"]),
		"privateDnsName":     details["privateDnsName"] == "ip-"+strings.ReplaceAll(ip.String(), ".", "-")+".ec2.internal",
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("ENI detail %s = %q", name, details[name])
		}
	}
	for _, ctr := range task.Containers {
		if len(ctr.NetworkInterfaces) != 1 || aws.ToString(ctr.NetworkInterfaces[0].PrivateIpv4Address) != ip.String() ||
			aws.ToString(ctr.NetworkInterfaces[0].AttachmentId) != aws.ToString(eni.Id) {
			t.Errorf("container %s networkInterfaces %+v, want one with %s and attachment %s", aws.ToString(ctr.Name),
				ctr.NetworkInterfaces, ip, aws.ToString(eni.Id))
		}
	}
	return ip.String()
}

func hostPort(t *testing.T, task ecstypes.Task) int32 {
	t.Helper()
	for _, ctr := range task.Containers {
		for _, nb := range ctr.NetworkBindings {
			if aws.ToInt32(nb.ContainerPort) == 8080 {
				return aws.ToInt32(nb.HostPort)
			}
		}
	}
	t.Fatalf("task %s has no network binding for 8080", aws.ToString(task.TaskArn))
	return 0
}

// fetchVia asks the test server of the task behind hostPort to GET target from inside its
// container, and returns the body.
func fetchVia(t *testing.T, hostPort int32, target string) string {
	t.Helper()
	u := fmt.Sprintf("http://127.0.0.1:%d/fetch?url=%s", hostPort, url.QueryEscape(target))
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(u)
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return string(b)
		}
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	t.Fatalf("GET %s through the task: %s", target, last)
	return ""
}

// serveOnLoopback serves body on the host's 127.0.0.1 until the test ends and returns its URL.
func serveOnLoopback(t *testing.T, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }),
		ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// vpcCounts is what the VPC may leave behind: veths in the VPC's namespace, network namespaces
// under <state>/netns (the VPC's and one per task), nsfs mounts under the state dir, and
// slirp4netns processes attached to it. The pool of spare namespaces (vpc.Spares), which a
// running data plane refills in the background, is counted apart, in Spares (namespaces).
type vpcCounts struct {
	Veths, Namespaces, Mounts, Uplinks int
	Spares                             int
}

// tasks is c without the spares, which a running data plane makes at its own pace.
func (c vpcCounts) tasks() vpcCounts { c.Spares = 0; return c }

func countVPC(t *testing.T, stateDir string) vpcCounts {
	t.Helper()
	var n vpcCounts
	nsPath := vpc.NamespacePath(stateDir)
	if vpc.IsNamespace(nsPath) {
		n.Veths = vethsIn(t, nsPath)
	}
	entries, _ := os.ReadDir(filepath.Join(stateDir, "netns"))
	for _, e := range entries {
		switch {
		case !vpc.IsNamespace(filepath.Join(stateDir, "netns", e.Name())):
		case vpc.IsSpareNamespace(e.Name()):
			n.Spares++
		default:
			n.Namespaces++
		}
	}
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mountinfo), "\n") {
		// Field 5 is the mount point; the filesystem type follows the " - " separator.
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], stateDir+"/") && strings.Contains(line, " - nsfs ") &&
			!vpc.IsSpareNamespace(filepath.Base(f[4])) {
			n.Mounts++
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, _ := os.ReadFile(p)
		if args := bytes.Split(raw, []byte{0}); len(args) > 0 && filepath.Base(string(args[0])) == "slirp4netns" &&
			bytes.Contains(raw, []byte(stateDir+"/")) {
			n.Uplinks++
		}
	}
	return n
}

func vethsIn(t *testing.T, nsPath string) int {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// The data plane refills its spare namespaces meanwhile: a dump a change interrupted is read
	// again (bounded).
	links, err := vpc.RetryDump(h.LinkList)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range links {
		if l.Type() == "veth" && !vpc.IsSpareVeth(l.Attrs().Name) {
			n++
		}
	}
	return n
}

func uplinkPid(t *testing.T, stateDir string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(stateDir, "vpc", "slirp4netns.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscanf(string(raw), "%d", &pid); err != nil || unix.Kill(pid, 0) != nil {
		t.Fatalf("slirp4netns pid file %q: no running process", raw)
	}
	return pid
}

var lifetimes = regexp.MustCompile(`"(valid|preferred)_life_time":\d+,?`)

// hostNetwork is the host's network configuration as the tools show it: links, addresses, routes
// and rules (ip -j), the nftables and iptables rulesets where those tools are installed, and the
// forwarding sysctls. Address lifetimes, which count down on DHCP hosts, are left out.
func hostNetwork(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"ip", "-j", "link", "show"}, {"ip", "-j", "addr", "show"}, {"ip", "-j", "route", "show", "table", "all"},
		{"ip", "-j", "rule", "show"}, {"nft", "list", "ruleset"}, {"iptables-save"}, {"ip6tables-save"},
	} {
		if _, err := exec.LookPath(args[0]); err != nil {
			continue
		}
		out, err := exec.Command(args[0], args[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		fmt.Fprintf(&b, "$ %s\n%s\n", strings.Join(args, " "), lifetimes.ReplaceAll(out, nil))
	}
	for _, s := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv6/conf/all/forwarding"} {
		v, _ := os.ReadFile("/proc/sys/" + s)
		fmt.Fprintf(&b, "%s = %s", s, v)
	}
	return b.String()
}
