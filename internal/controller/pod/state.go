package pod

import (
	"encoding/json"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// podState is what the controller remembers of one Pod (one UID: a Pod deleted and made again
// under its name is another). Everything in it can be derived again from the Pod's status and
// ECS, so a restarted controller loses nothing: it is ahead of the informer cache (the status it
// wrote last may not be there yet), and it holds what a kubelet holds in memory too (the
// back-off, the Events recorded).
//
// Reconciles of one Pod are serialised by the work queue; mu guards what PodTasks and the
// sweeper read from other goroutines (rec, hasRec, taskDef, ip, live).
type podState struct {
	uid types.UID

	mu      sync.Mutex
	rec     Record
	hasRec  bool
	taskDef string // the revision ARN of the current task
	ip      string // the current task's address
	live    bool   // the current task is not known to be STOPPED

	// gen and tr are the translation of the Pod's generation gen, opts the Options it was made
	// with (the controller's, completed by the Cluster object's defaults).
	gen  int64
	tr   *translate.Translation
	opts *Options
	// family is the task definition family of the Pod's revisions.
	family string

	// containers is the node's state of each container (restart counts, last terminations,
	// waiting reasons), seeded from the Pod's status.
	containers map[string]*translate.ContainerState
	backoff    backoffState
	// handledStop is the stopped task whose terminations were recorded as lastState;
	// restarted are its containers that ran, whose restartCount the next run increments.
	handledStop string
	restarted   []string
	deadline    bool
	// stopRequested is the task StopTask was sent for.
	stopRequested string
	// runs: each container's current run as handed to the prober; kills: the kills of runs
	// whose liveness or startup probe failed, by runtimeId.
	runs  map[string]containerRun
	kills map[string]*killing
	// events are the keys of the Events recorded.
	events map[string]bool
	// waitDelay is the retry delay while the Pod waits for ConfigMaps or Secrets.
	waitDelay time.Duration

	// keep-current: the resourceVersions the files were last written from ("Kind/name" →
	// resourceVersion; nil: unknown, after a restart), when tokens must be renewed, and whether
	// the host cannot reach the task's volumes.
	objects        map[string]string
	tokenRefreshAt time.Time
	noVolumeDir    bool
}

// newState is the state of pod as its status tells it.
func newState(pod *corev1.Pod) *podState {
	st := &podState{uid: pod.UID, containers: map[string]*translate.ContainerState{}, events: map[string]bool{}}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range list {
			c := &translate.ContainerState{RestartCount: cs.RestartCount}
			if t := cs.LastTerminationState.Terminated; t != nil {
				c.LastTermination = t.DeepCopy()
			}
			st.containers[cs.Name] = c
		}
	}
	if rec, ok, _ := recordOf(&pod.Status); ok {
		st.rec, st.hasRec, st.live = rec, true, true
	}
	st.deadline = pod.Status.Reason == translate.ReasonDeadlineExceeded
	return st
}

func (st *podState) container(name string) *translate.ContainerState {
	c := st.containers[name]
	if c == nil {
		c = &translate.ContainerState{}
		st.containers[name] = c
	}
	return c
}

// record returns the task recorded, under the lock.
func (st *podState) record() (Record, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.rec, st.hasRec
}

func (st *podState) setRecord(rec Record, taskDef string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.rec, st.hasRec, st.taskDef, st.live, st.ip = rec, true, taskDef, true, ""
}

// states is the controller's memory of its Pods.
type states struct {
	mu   sync.Mutex
	pods map[types.NamespacedName]*podState
}

// of returns the state of pod, made from its status when the Pod is new to the controller (or
// a new Pod under the name).
func (s *states) of(pod *corev1.Pod) *podState {
	key := client.ObjectKeyFromObject(pod)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.pods[key]
	if st == nil || st.uid != pod.UID {
		st = newState(pod)
		s.pods[key] = st
	}
	return st
}

func (s *states) get(key types.NamespacedName) *podState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pods[key]
}

func (s *states) remove(key types.NamespacedName) *podState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.pods[key]
	delete(s.pods, key)
	return st
}

// each calls fn for every state (fn must not call back into s).
func (s *states) each(fn func(key types.NamespacedName, st *podState)) {
	s.mu.Lock()
	all := make(map[types.NamespacedName]*podState, len(s.pods))
	for k, v := range s.pods {
		all[k] = v
	}
	s.mu.Unlock()
	for k, v := range all {
		fn(k, v)
	}
}

// normalize makes st what the API server stores: times in whole seconds, empty members
// dropped. Comparing a computed status with the stored one then finds no difference at rest
// (ECS's times have fractions of a second; metav1.Time keeps seconds).
func normalize(st *corev1.PodStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var out corev1.PodStatus
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	*st = out
	return nil
}
