package scheduler

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// addresses lists the held VPC addresses as "address=owner".
func (h *harness) addresses() []string {
	h.t.Helper()
	var out []string
	err := h.store.View(func(tx *store.Tx) error {
		held, err := tx.Addresses()
		for _, a := range held {
			out = append(out, a.Address+"="+a.Owner)
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func eniStatus(t *model.Task) string {
	if eni := t.ENI(); eni != nil {
		return eni.Status
	}
	return "none"
}

// TestTaskNetworkLifecycle: a task gets an address of the subnet when it starts, reported as an
// ATTACHED ENI and on its containers and handed to the runtime; the address survives a restart of
// the scheduler; stopping reports the ENI DETACHING then DELETED, and removal releases the address.
func TestTaskNetworkLifecycle(t *testing.T) {
	h := newHarness(t)
	h.start()
	a, b := h.runTask("web", 1), h.runTask("web", 1)
	h.settle()
	ra, rb := h.task(a), h.task(b)
	ipA, ipB := ra.Task.PrivateIPv4(), rb.Task.PrivateIPv4()
	if !strings.HasPrefix(ipA, "10.244.") || !strings.HasPrefix(ipB, "10.244.") || ipA == ipB {
		t.Fatalf("addresses %q and %q, want two distinct ones of the default subnet 10.244.0.0/16", ipA, ipB)
	}
	if eniStatus(&ra.Task) != model.AttachmentAttached {
		t.Errorf("ENI %s, want ATTACHED", eniStatus(&ra.Task))
	}
	for _, c := range ra.Task.Containers {
		if len(c.NetworkInterfaces) != 1 || *c.NetworkInterfaces[0].PrivateIpv4Address != ipA ||
			*c.NetworkInterfaces[0].AttachmentID != ra.Task.ENI().ID {
			t.Errorf("container %s networkInterfaces %+v", c.Name, c.NetworkInterfaces)
		}
	}
	ft, _ := h.rt.Task(a)
	if ft.Spec.Network == nil || ft.Spec.Network.Address.Addr().String() != ipA || ft.Spec.Network.Gateway.String() != "10.244.0.1" ||
		ft.Spec.Network.Address.Bits() != 16 {
		t.Errorf("runtime spec network %+v, want %s/16 via 10.244.0.1", ft.Spec.Network, ipA)
	}
	held := h.addresses()
	want := []string{ipA + "=" + a, ipB + "=" + b}
	slices.Sort(want) // the tasks start in parallel: either may get the first address
	if diff := cmp.Diff(want, held); diff != "" {
		t.Errorf("held addresses (-want +got):\n%s", diff)
	}

	// A restarted scheduler re-attaches with the same addresses.
	h.stop()
	h.rt = h.rt.Restart()
	h.start()
	h.settle()
	if got := h.task(a).Task.PrivateIPv4(); got != ipA {
		t.Errorf("address after a restart %q, want %q", got, ipA)
	}
	ft, _ = h.rt.Task(a)
	if diff := cmp.Diff(held, h.addresses()); diff != "" || ft.Spec.Network.Address.Addr().String() != ipA {
		t.Errorf("after a restart: held addresses (-before +after):\n%s; runtime spec %+v", diff, ft.Spec.Network)
	}

	h.stopTaskAPI(a)
	h.settle()
	ra = h.task(a)
	if ra.Task.LastStatus != model.TaskStatusStopped || eniStatus(&ra.Task) != model.AttachmentDeleted || ra.Task.PrivateIPv4() != ipA {
		t.Errorf("stopped task: %s, ENI %s with address %q; want STOPPED, DELETED, %s kept in its details",
			ra.Task.LastStatus, eniStatus(&ra.Task), ra.Task.PrivateIPv4(), ipA)
	}
	if diff := cmp.Diff([]string{ipB + "=" + b}, h.addresses()); diff != "" {
		t.Errorf("held addresses after the task was removed (-want +got):\n%s", diff)
	}
}

// TestRecoveryReleasesStaleAddresses: an address whose task is gone is released when the scheduler
// starts; the others are kept.
func TestRecoveryReleasesStaleAddresses(t *testing.T) {
	h := newHarness(t)
	h.start()
	a := h.runTask("web", 1)
	h.settle()
	ip := h.task(a).Task.PrivateIPv4()
	h.stop()
	h.update(func(tx *store.Tx) error {
		return tx.PutAddress(&store.AddressRecord{Address: "10.244.9.9", Owner: "gone"})
	})
	h.rt = h.rt.Restart()
	h.start()
	h.settle()
	if diff := cmp.Diff([]string{ip + "=" + a}, h.addresses()); diff != "" {
		t.Errorf("held addresses after recovery (-want +got):\n%s", diff)
	}
}

// TestAddressIsStoredWithTheTask: RunTask's transaction holds the task's address (PrepareTask), and
// the runtime starts the task with that address (TestStartIsStoredInOneTransaction counts the
// commits: none of its own for the address); a task stored without one (an older data plane's
// RunTask) gets one when it starts.
func TestAddressIsStoredWithTheTask(t *testing.T) {
	h := newHarness(t)
	h.start()
	a := h.runTask("web", 1)
	held := h.addresses()
	if len(held) != 1 || !strings.HasSuffix(held[0], "="+a) {
		t.Fatalf("held addresses right after RunTask's transaction %v, want one of %s", held, a)
	}
	h.settle()
	ft, _ := h.rt.Task(a)
	if ft.Spec.Network == nil || ft.Spec.Network.Address.Addr().String()+"="+a != held[0] {
		t.Errorf("runtime spec network %+v, want the address stored with the task (%s)", ft.Spec.Network, held[0])
	}

	b := h.storeTask("web", 1, false)
	h.settle()
	ip := h.task(b).Task.PrivateIPv4()
	if diff := cmp.Diff([]string{held[0], ip + "=" + b}, h.addresses()); diff != "" || !strings.HasPrefix(ip, "10.244.") {
		t.Errorf("a task stored without an address got %q; held addresses (-want +got):\n%s", ip, diff)
	}
}

// TestFullSubnetFailsTheTaskAtItsStart: with every address held, RunTask's transaction stores the
// task without one (PrepareTask does not refuse it) and its start fails it, saying what to do.
func TestFullSubnetFailsTheTaskAtItsStart(t *testing.T) {
	h := newHarness(t)
	subnet, err := ipam.ParseSubnet("10.9.0.0/28")
	if err != nil {
		t.Fatal(err)
	}
	h.subnet = subnet
	h.start()
	// After the start: its recovery releases addresses whose owners are not tasks.
	h.update(func(tx *store.Tx) error {
		for i := range 13 {
			if _, err := subnet.Allocate(tx, fmt.Sprintf("other%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	id := h.runTask("web", 1)
	h.settle()
	task := h.task(id).Task
	got := []string{task.LastStatus, deref(task.StopCode)}
	if diff := cmp.Diff([]string{model.TaskStatusStopped, model.StopCodeTaskFailedToStart}, got); diff != "" ||
		!strings.Contains(deref(task.StoppedReason), "ResourceInitializationError: no address") {
		t.Errorf("task in a full subnet (-want +got):\n%s; stoppedReason %q", diff, deref(task.StoppedReason))
	}
}
