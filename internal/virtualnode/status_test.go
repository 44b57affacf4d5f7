package virtualnode

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

func TestNewNode(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	opts, err := Options{Arch: "arm64", KubeletVersion: "v1.37.2"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	pressure := []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("16k"), corev1.ResourceMemory: resource.MustParse("120000Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("200000Gi"), corev1.ResourcePods: resource.MustParse("1k"),
	}
	status := func(ready corev1.NodeCondition) corev1.NodeStatus {
		return corev1.NodeStatus{
			Capacity: capacity, Allocatable: capacity, Phase: corev1.NodeRunning,
			Conditions:      append(append([]corev1.NodeCondition{}, pressure...), ready),
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "nodeless"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "arm64",
				OSImage: OSImage, ContainerRuntimeVersion: "ecs://local"},
		}
	}
	labels := translate.NodeLabels("nodeless", "arm64")
	tests := []struct {
		name   string
		taint  bool
		health health
		want   *corev1.Node
	}{
		{
			name: "ready",
			want: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "nodeless", Labels: labels},
				Status: status(cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"))},
		},
		{
			name: "tainted", taint: true,
			want: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "nodeless", Labels: labels},
				Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "virtual-kubelet.io/provider", Value: "nodeless", Effect: corev1.TaintEffectNoSchedule}}},
				Status: status(cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"))},
		},
		{
			name: "data plane unreachable", health: health{err: errors.New("dial tcp 127.0.0.1:8000: connection refused")},
			want: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "nodeless", Labels: labels},
				Status: status(cond(corev1.NodeReady, corev1.ConditionFalse, "DataPlaneUnreachable",
					"the data plane does not answer: dial tcp 127.0.0.1:8000: connection refused"))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			o.Taint = tt.taint
			if diff := cmp.Diff(tt.want, newNode(o, tt.health, now)); diff != "" {
				t.Errorf("node (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCarryTransitions(t *testing.T) {
	before := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(before.Add(time.Hour))
	prev := conditions(health{}, before)
	next := conditions(health{err: errors.New("down")}, now)
	carryTransitions(next, prev)
	for _, c := range next {
		want := before
		if c.Type == corev1.NodeReady {
			want = now // Ready changed; the others did not
		}
		if !c.LastTransitionTime.Equal(&want) {
			t.Errorf("%s lastTransitionTime %v, want %v", c.Type, c.LastTransitionTime, want)
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"address not an IP", Options{Address: "localhost"}, `node address "localhost": give an IP address`},
		{"port out of range", Options{Port: 70000}, "kubelet port 70000"},
		{"unknown resource", Options{Capacity: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}}, "node capacity nvidia.com/gpu: only cpu, memory, ephemeral-storage and pods"},
		{"zero", Options{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}, "node capacity pods=0: give a positive quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.opts.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCapacityOverride(t *testing.T) {
	o, err := Options{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("6")}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Capacity[corev1.ResourceCPU]; got.String() != "6" {
		t.Errorf("cpu %s, want 6", got.String())
	}
	if got := o.Capacity[corev1.ResourcePods]; got.Value() != DefaultPods {
		t.Errorf("pods %s, want the default %d", got.String(), DefaultPods)
	}
}
