package virtualnode_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	kubeversion "k8s.io/component-base/version"

	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testwait"
	"github.com/nodeless-dev/nodeless/internal/translate"
	"github.com/nodeless-dev/nodeless/internal/virtualnode"
)

// runNode runs a node until the test ends (or stop is called) and waits until it is registered.
func runNode(t *testing.T, client kubernetes.Interface, opts virtualnode.Options) (stop func()) {
	t.Helper()
	node, err := virtualnode.NewNode(client, opts, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node Run: %v", err)
		}
	}
	t.Cleanup(stop)
	select {
	case <-node.Ready():
	case err := <-done:
		t.Fatalf("node stopped: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("node not registered after a minute")
	}
	return stop
}

// eventually polls cond every 50 ms for up to a minute.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	testwait.For(t, time.Minute, 50*time.Millisecond, what, cond)
}

func readyOf(n *corev1.Node) corev1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c
		}
	}
	return corev1.NodeCondition{}
}

// TestNodeLifecycle: the node registers with the kubelet's shape, renews its Lease, reports the
// data plane's health in Ready, comes back when deleted, and stays when stopped.
func TestNodeLifecycle(t *testing.T) {
	env := testenv.Start(t)
	client := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	name := "nodeless-" + randomHex(4)
	var down atomic.Pointer[error]
	stop := runNode(t, client, virtualnode.Options{
		NodeName: name, Port: 10999, NotReadyTaint: true,
		Health: func(context.Context) error {
			if err := down.Load(); err != nil {
				return *err
			}
			return nil
		},
		HealthInterval: 50 * time.Millisecond, LeaseRenewInterval: 200 * time.Millisecond, StatusInterval: time.Second,
	})
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("shape", func(t *testing.T) {
		if diff := cmp.Diff(translate.NodeLabels(name, goruntime.GOARCH), node.Labels); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		if len(node.Spec.Taints) != 0 {
			t.Errorf("taints %v, want none", node.Spec.Taints)
		}
		info := node.Status.NodeInfo
		if info.KubeletVersion != kubeversion.Get().GitVersion || info.ContainerRuntimeVersion != "ecs://local" || info.OperatingSystem != "linux" {
			t.Errorf("nodeInfo %+v", info)
		}
		if node.Status.DaemonEndpoints.KubeletEndpoint.Port != 10999 {
			t.Errorf("kubelet port %d, want 10999", node.Status.DaemonEndpoints.KubeletEndpoint.Port)
		}
		if pods := node.Status.Allocatable[corev1.ResourcePods]; pods.Value() != virtualnode.DefaultPods {
			t.Errorf("allocatable pods %s", pods.String())
		}
		if r := readyOf(node); r.Status != corev1.ConditionTrue || r.Reason != virtualnode.ReasonKubeletReady {
			t.Errorf("Ready %+v, want True KubeletReady", r)
		}
	})
	t.Run("lease renewed", func(t *testing.T) {
		leases := client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
		// The lease is created right after the node registers: wait for it.
		var first *coordinationv1.Lease
		eventually(t, "lease created", func() (bool, string) {
			l, err := leases.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			first = l
			return true, ""
		})
		if first.Spec.HolderIdentity == nil || *first.Spec.HolderIdentity != name || len(first.OwnerReferences) != 1 || first.OwnerReferences[0].UID != node.UID {
			t.Errorf("lease %+v, want held by and owned by node %s", first.Spec, name)
		}
		eventually(t, "lease renewed", func() (bool, string) {
			l, err := leases.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return l.Spec.RenewTime.After(first.Spec.RenewTime.Time), l.Spec.RenewTime.String()
		})
	})
	t.Run("data plane unreachable", func(t *testing.T) {
		err := errors.New("dial tcp 127.0.0.1:1: connection refused")
		down.Store(&err)
		eventually(t, "Ready False", nodeReady(ctx, client, name, corev1.ConditionFalse, virtualnode.ReasonDataPlaneUnreachable))
		eventually(t, "not-ready taint", hasTaints(ctx, client, name, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}))
		down.Store(nil)
		eventually(t, "Ready True again", nodeReady(ctx, client, name, corev1.ConditionTrue, virtualnode.ReasonKubeletReady))
		eventually(t, "no taint", hasTaints(ctx, client, name))
	})
	t.Run("deleted node registers again", func(t *testing.T) {
		if err := client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node back", func() (bool, string) {
			n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return n.UID != node.UID, string(n.UID)
		})
	})
	t.Run("a stop leaves the node", func(t *testing.T) {
		stop()
		if _, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("node after stop: %v", err)
		}
	})
}

func hasTaints(ctx context.Context, client kubernetes.Interface, name string, want ...corev1.Taint) func() (bool, string) {
	return func() (bool, string) {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return cmp.Equal(want, n.Spec.Taints, cmpopts.EquateEmpty()), fmt.Sprint(n.Spec.Taints)
	}
}

func nodeReady(ctx context.Context, client kubernetes.Interface, name string, status corev1.ConditionStatus, reason string) func() (bool, string) {
	return func() (bool, string) {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		r := readyOf(n)
		return r.Status == status && r.Reason == reason, fmt.Sprintf("%s %s %q", r.Status, r.Reason, r.Message)
	}
}

// TestNodeTaint: on an existing cluster the node carries the taint; a node registered earlier
// gets it, or loses it, when the option changes.
func TestNodeTaint(t *testing.T) {
	env := testenv.Start(t)
	client := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	name := "nodeless-" + randomHex(4)
	taints := func() []corev1.Taint {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n.Spec.Taints
	}
	// As on an existing cluster: the not-ready taint is not ours (there the API server's
	// TaintNodesByCondition admission adds it and the node lifecycle controller removes it; the
	// embedded API server, this test's, runs without that admission plugin), so only the
	// opt-in taint is the node's.
	stop := runNode(t, client, virtualnode.Options{NodeName: name, Taint: true})
	if diff := cmp.Diff([]corev1.Taint{translate.NodeTaint()}, taints()); diff != "" {
		t.Errorf("taints (-want +got):\n%s", diff)
	}
	stop()
	// As under up: the node keeps the not-ready taint itself.
	stop = runNode(t, client, virtualnode.Options{NodeName: name, NotReadyTaint: true})
	if got := taints(); len(got) != 0 {
		t.Errorf("taints %v after a run without Taint, want none", got)
	}
	stop()
	runNode(t, client, virtualnode.Options{NodeName: name, Taint: true, NotReadyTaint: true})
	if diff := cmp.Diff([]corev1.Taint{translate.NodeTaint()}, taints()); diff != "" {
		t.Errorf("taints of the re-tainted node (-want +got):\n%s", diff)
	}
	if err := client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}
}
