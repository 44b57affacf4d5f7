package integration

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
)

// TestOutcomes: what one reconcile of a live object writes into its conditions and how it
// requeues, per Sync outcome (clean, and the Problem of each kind of ECS error).
func TestOutcomes(t *testing.T) {
	e := start(t)
	ecsErr := func(err error) *reconciler.Problem { return ecscall.FromECS("creating it", err) }
	tests := []struct {
		name    string
		status  string
		exists  bool
		problem *reconciler.Problem
		resync  time.Duration
		// readyBefore: a clean, Ready reconcile comes first.
		readyBefore bool
		want        ctrl.Result
		wantErr     bool
		wantConds   map[string]cond
	}{
		{name: "clean and ready", status: "ACTIVE", exists: true, want: ctrl.Result{},
			wantConds: map[string]cond{"Synced": {"True", "Synced"}, "Ready": {"True", "Active"}}},
		{name: "clean, not ready", status: "PROVISIONING", exists: true, want: ctrl.Result{},
			wantConds: map[string]cond{"Synced": {"True", "Synced"}, "Ready": {"False", "NotActive"}}},
		{name: "clean, kind resyncs", status: "ACTIVE", exists: true, resync: time.Minute, want: ctrl.Result{RequeueAfter: time.Minute},
			wantConds: map[string]cond{"Synced": {"True", "Synced"}, "Ready": {"True", "Active"}}},
		{name: "waiting for a reference before anything exists", problem: reconciler.Waiting("ClusterNotReady", "waiting"),
			want:      ctrl.Result{RequeueAfter: time.Minute},
			wantConds: map[string]cond{"Synced": {"False", "ClusterNotReady"}, "Ready": {"False", "ClusterNotReady"}}},
		{name: "throttled retries after a delay", problem: ecsErr(&smithy.GenericAPIError{Code: "ThrottlingException"}),
			want:      ctrl.Result{RequeueAfter: ecscall.RetryThrottled},
			wantConds: map[string]cond{"Synced": {"False", "Throttled"}, "Ready": {"False", "Throttled"}}},
		{name: "quota retries every minute", problem: ecsErr(&ecstypes.LimitExceededException{}),
			want:      ctrl.Result{RequeueAfter: ecscall.RetryNotAllowed},
			wantConds: map[string]cond{"Synced": {"False", "QuotaExceeded"}, "Ready": {"False", "QuotaExceeded"}}},
		{name: "access denied retries every minute, Ready kept while the resource exists", problem: ecsErr(&ecstypes.AccessDeniedException{Message: aws.String("no")}),
			exists: true, readyBefore: true, want: ctrl.Result{RequeueAfter: ecscall.RetryNotAllowed},
			wantConds: map[string]cond{"Synced": {"False", "AccessDenied"}, "Ready": {"True", "Active"}}},
		{name: "invalid spec waits for a spec change", problem: ecsErr(&ecstypes.InvalidParameterException{}), want: ctrl.Result{},
			wantConds: map[string]cond{"Synced": {"False", "InvalidSpec"}, "Ready": {"False", "InvalidSpec"}}},
		{name: "server error backs off", problem: ecsErr(&ecstypes.ServerException{}), wantErr: true,
			wantConds: map[string]cond{"Synced": {"False", "ECSUnavailable"}, "Ready": {"False", "ECSUnavailable"}}},
		{name: "a plain error backs off", problem: reconciler.AsProblem(errors.New("listing services: boom")), wantErr: true,
			wantConds: map[string]cond{"Synced": {"False", reconciler.ReasonError}, "Ready": {"False", reconciler.ReasonError}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.cluster(fmt.Sprintf("outcome-%d", i))
			st := &steps{status: "ACTIVE", exists: true}
			r := e.reconcilerFor(st, tt.resync)
			if tt.readyBefore {
				if _, err := e.reconcile(r, c); err != nil {
					t.Fatal(err)
				}
			}
			st.status, st.exists, st.syncProblem = tt.status, tt.exists, tt.problem
			res, err := e.reconcile(r, c)
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want one: %v", err, tt.wantErr)
			}
			e.fetch(c)
			if diff := cmp.Diff(tt.wantConds, conds(c)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			for _, x := range c.Status.Conditions {
				if x.ObservedGeneration != c.Generation {
					t.Errorf("condition %s observedGeneration %d, want %d", x.Type, x.ObservedGeneration, c.Generation)
				}
			}
			if wantOG := map[bool]int64{true: c.Generation, false: 0}[tt.problem == nil || tt.readyBefore]; c.Status.ObservedGeneration != wantOG {
				t.Errorf("status.observedGeneration %d, want %d", c.Status.ObservedGeneration, wantOG)
			}
		})
	}
}

// TestFinalizerAddedOnce: the first reconcile adds the finalizer beside the ones already there,
// before Sync; later ones write no metadata.
func TestFinalizerAddedOnce(t *testing.T) {
	e := start(t)
	c := e.cluster("fin", "someone.else/keep")
	st := &steps{status: "ACTIVE", exists: true}
	var seen []string
	st.duringSync = func(obj *ecsv1alpha1.Cluster) { seen = obj.Finalizers }
	r := e.reconcilerFor(st, 0)
	for range 3 {
		if _, err := e.reconcile(r, c); err != nil {
			t.Fatal(err)
		}
	}
	e.fetch(c)
	want := []string{"someone.else/keep", finalizer}
	if diff := cmp.Diff(want, c.Finalizers); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("finalizers Sync saw (-want +got):\n%s", diff)
	}
	if patches, _ := e.writes.counts(); patches != 1 {
		t.Errorf("metadata patches over 3 reconciles = %d, want 1", patches)
	}
}

// TestStatusPatchSkippedWhenUnchanged: a reconcile that computes the status already stored
// writes nothing; a change writes once.
func TestStatusPatchSkippedWhenUnchanged(t *testing.T) {
	e := start(t)
	c := e.cluster("same")
	st := &steps{status: "ACTIVE", exists: true}
	r := e.reconcilerFor(st, 0)
	for range 5 {
		if _, err := e.reconcile(r, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, sp := e.writes.counts(); sp != 1 {
		t.Errorf("status patches over 5 identical reconciles = %d, want 1", sp)
	}
	st.status = "INACTIVE"
	if _, err := e.reconcile(r, c); err != nil {
		t.Fatal(err)
	}
	if _, sp := e.writes.counts(); sp != 2 {
		t.Errorf("status patches after a change = %d, want 2", sp)
	}
	e.fetch(c)
	if c.Status.Status != "INACTIVE" {
		t.Errorf("status.status %q, want INACTIVE", c.Status.Status)
	}
}

// TestStatusConflict: a status computed from an object that changed before the patch (a user's
// change, or a cache that had not seen the previous status write) is not written over the newer
// object; the object is requeued, and the next reconcile writes the status computed anew, the
// other change kept.
func TestStatusConflict(t *testing.T) {
	e := start(t)
	tests := []struct {
		name string
		// setup runs against the object (already reconciled once, status "PROVISIONING") and
		// arranges the conflict of the next reconcile.
		setup func(e *env, c *ecsv1alpha1.Cluster)
		// wantGeneration after the conflict.
		wantGeneration int64
	}{
		{"spec changed by a user during Sync", func(e *env, c *ecsv1alpha1.Cluster) {
			done := false
			e.beforeStatusPatch = func(client.Object) {
				if !done {
					done = true
					changeSpec(e, c)
				}
			}
		}, 2},
		{"stale cache missed the previous status write", func(e *env, c *ecsv1alpha1.Cluster) {
			stale := c.DeepCopy() // as created, before the first reconcile wrote its status
			stale.Finalizers = []string{finalizer}
			stale.ResourceVersion = staleVersion(e, c)
			e.get = func(key client.ObjectKey, obj client.Object) error {
				stale.DeepCopyInto(obj.(*ecsv1alpha1.Cluster))
				return nil
			}
		}, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.beforeStatusPatch, e.get = nil, nil
			c := e.cluster(fmt.Sprintf("conflict-%d", i))
			st := &steps{status: "PROVISIONING", exists: true}
			r := e.reconcilerFor(st, 0)
			if _, err := e.reconcile(r, c); err != nil {
				t.Fatal(err)
			}
			tt.setup(e, c)
			st.status = "ACTIVE"
			_, before := e.writes.counts()
			res, err := e.reconcile(r, c)
			if err != nil || res != (ctrl.Result{RequeueAfter: reconciler.ConflictRequeue}) {
				t.Errorf("reconcile with a conflict = %+v, %v; want a requeue after %v", res, err, reconciler.ConflictRequeue)
			}
			if _, after := e.writes.counts(); after-before != 1 {
				t.Errorf("status patches = %d, want 1 (refused)", after-before)
			}
			e.fetch(c)
			if c.Status.Status != "PROVISIONING" {
				t.Errorf("status.status %q after the conflict, want the newer PROVISIONING kept", c.Status.Status)
			}

			e.beforeStatusPatch, e.get = nil, nil
			if _, err := e.reconcile(r, c); err != nil {
				t.Fatalf("reconcile after the conflict: %v", err)
			}
			e.fetch(c)
			if c.Status.Status != "ACTIVE" || c.Generation != tt.wantGeneration {
				t.Errorf("after the requeue: status.status %q generation %d, want ACTIVE and %d", c.Status.Status, c.Generation, tt.wantGeneration)
			}
			if diff := cmp.Diff(map[string]cond{"Synced": {"True", "Synced"}, "Ready": {"True", "Active"}}, conds(c)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if c.Status.ObservedGeneration != c.Generation {
				t.Errorf("status.observedGeneration %d, want %d", c.Status.ObservedGeneration, c.Generation)
			}
			if tt.wantGeneration == 2 && len(c.Spec.Tags) != 1 {
				t.Errorf("the user's change was lost: tags %v", c.Spec.Tags)
			}
		})
	}
}

// changeSpec changes c's spec on the API server, as a user would.
func changeSpec(e *env, c *ecsv1alpha1.Cluster) {
	e.t.Helper()
	cur := &ecsv1alpha1.Cluster{}
	if err := e.direct.Get(e.ctx, client.ObjectKeyFromObject(c), cur); err != nil {
		e.t.Fatal(err)
	}
	cur.Spec.Tags = []ecsv1alpha1.Tag{{Key: "team", Value: "a"}}
	if err := e.direct.Update(e.ctx, cur); err != nil {
		e.t.Fatal(err)
	}
}

// staleVersion is the resourceVersion c had before the reconcile that wrote its status and
// finalizer: the one returned by its creation.
func staleVersion(e *env, c *ecsv1alpha1.Cluster) string {
	e.t.Helper()
	cur := &ecsv1alpha1.Cluster{}
	if err := e.direct.Get(e.ctx, client.ObjectKeyFromObject(c), cur); err != nil {
		e.t.Fatal(err)
	}
	if cur.ResourceVersion == c.ResourceVersion {
		e.t.Fatal("the first reconcile wrote nothing")
	}
	return c.ResourceVersion
}

// TestDeletion: the finalizer goes only once Finalize succeeds; a failing Finalize keeps it,
// reports why and requeues as its Problem says; an object another finalizer keeps alive is not
// finalized again; another controller's finalizer survives ours going.
func TestDeletion(t *testing.T) {
	e := start(t)
	stuck := &reconciler.Problem{Reason: "ClusterBusy", Message: "delete its services first", RequeueAfter: 7 * time.Second}
	c := e.cluster("del", "someone.else/keep")
	st := &steps{status: "ACTIVE", exists: true, finalizeProblem: stuck}
	r := e.reconcilerFor(st, 0)
	if _, err := e.reconcile(r, c); err != nil {
		t.Fatal(err)
	}
	if err := e.direct.Delete(e.ctx, c); err != nil {
		t.Fatal(err)
	}

	res, err := e.reconcile(r, c)
	if err != nil || res.RequeueAfter != 7*time.Second {
		t.Errorf("reconcile with a failing Finalize = %+v, %v; want RequeueAfter 7s", res, err)
	}
	e.fetch(c)
	if diff := cmp.Diff([]string{"someone.else/keep", finalizer}, c.Finalizers); diff != "" {
		t.Errorf("finalizers after a failing Finalize (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]cond{"Synced": {"False", "ClusterBusy"}, "Ready": {"False", reconciler.ReasonDeleting}}, conds(c)); diff != "" {
		t.Errorf("conditions while stuck (-want +got):\n%s", diff)
	}

	st.finalizeProblem = &reconciler.Problem{Reason: "ECSError", Message: "boom", Err: errors.New("boom")}
	if _, err := e.reconcile(r, c); err == nil {
		t.Error("a Finalize Problem with an error did not return it (no backoff)")
	}

	st.finalizeProblem = nil
	if _, err := e.reconcile(r, c); err != nil {
		t.Fatal(err)
	}
	e.fetch(c)
	if diff := cmp.Diff([]string{"someone.else/keep"}, c.Finalizers); diff != "" {
		t.Errorf("finalizers after Finalize succeeded (-want +got):\n%s", diff)
	}
	key := client.ObjectKeyFromObject(c)
	if diff := cmp.Diff([]types.NamespacedName{key}, st.forgotten); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}

	// Still there (the other finalizer): reconciles neither finalize nor sync again.
	finalizes, syncs := st.finalizes, st.syncs
	if _, err := e.reconcile(r, c); err != nil {
		t.Fatal(err)
	}
	if st.finalizes != finalizes || st.syncs != syncs {
		t.Errorf("an object without our finalizer was finalized (%d→%d) or synced (%d→%d)", finalizes, st.finalizes, syncs, st.syncs)
	}
	c.Finalizers = nil
	if err := e.direct.Update(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := e.direct.Get(e.ctx, key, &ecsv1alpha1.Cluster{}); !apierrors.IsNotFound(err) {
		t.Errorf("object still there without finalizers: %v", err)
	}
}

// TestFinalizedOnceDespiteAStaleCache: once Finalize succeeded and the finalizer is gone, a
// reconcile of the copy a lagging cache still holds (deletionTimestamp and our finalizer) does not
// finalize again; an object created again under the same name (a new UID) is finalized as usual.
func TestFinalizedOnceDespiteAStaleCache(t *testing.T) {
	e := start(t)
	st := &steps{status: "ACTIVE", exists: true}
	r := e.reconcilerFor(st, 0)
	for round := range 2 {
		c := e.cluster("stale")
		if _, err := e.reconcile(r, c); err != nil {
			t.Fatal(err)
		}
		if err := e.direct.Delete(e.ctx, c); err != nil {
			t.Fatal(err)
		}
		e.fetch(c) // as the cache holds it: being deleted, our finalizer on
		if _, err := e.reconcile(r, c); err != nil {
			t.Fatal(err)
		}
		if err := e.direct.Get(e.ctx, client.ObjectKeyFromObject(c), &ecsv1alpha1.Cluster{}); !apierrors.IsNotFound(err) {
			t.Fatalf("round %d: the object is still there after Finalize: %v", round, err)
		}
		e.get = func(_ client.ObjectKey, obj client.Object) error {
			c.DeepCopyInto(obj.(*ecsv1alpha1.Cluster))
			return nil
		}
		for range 2 {
			if res, err := e.reconcile(r, c); err != nil || res != (ctrl.Result{}) {
				t.Errorf("round %d: reconcile of the stale copy = %+v, %v; want done", round, res, err)
			}
		}
		e.get = nil
		if st.finalizes != round+1 {
			t.Errorf("round %d: finalizes %d, want %d (once per object)", round, st.finalizes, round+1)
		}
	}
}

// TestNotFoundForgets: a request for an object that is gone makes the kind forget it.
func TestNotFoundForgets(t *testing.T) {
	e := start(t)
	st := &steps{}
	r := e.reconcilerFor(st, 0)
	key := types.NamespacedName{Namespace: e.ns, Name: "never-was"}
	res, err := r.Reconcile(e.ctx, ctrl.Request{NamespacedName: key})
	if err != nil || res != (ctrl.Result{}) {
		t.Errorf("Reconcile of a missing object = %+v, %v; want done", res, err)
	}
	if diff := cmp.Diff([]types.NamespacedName{key}, st.forgotten); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}
	if st.syncs+st.finalizes != 0 {
		t.Errorf("Sync or Finalize ran for a missing object")
	}
}

// TestDeletedWhileAddingFinalizer: an object whose deletion starts before the finalizer is
// added is never synced (nothing external may be created without the finalizer).
func TestDeletedWhileAddingFinalizer(t *testing.T) {
	e := start(t)
	c := e.cluster("racing", "someone.else/keep")
	if err := e.direct.Delete(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	st := &steps{status: "ACTIVE"}
	r := e.reconcilerFor(st, 0)
	// The reconciler reads the object as it was before the deletion (a stale cache).
	e.get = func(key client.ObjectKey, obj client.Object) error {
		c.DeepCopyInto(obj.(*ecsv1alpha1.Cluster))
		return nil
	}
	if _, err := e.reconcile(r, c); err != nil {
		t.Fatal(err)
	}
	if st.syncs != 0 || st.finalizes != 0 {
		t.Errorf("syncs %d, finalizes %d of an object being deleted without the finalizer; want 0", st.syncs, st.finalizes)
	}
	e.get = nil
	e.fetch(c)
	if diff := cmp.Diff([]string{"someone.else/keep"}, c.Finalizers); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
	c.Finalizers = nil
	if err := e.direct.Update(e.ctx, c); err != nil {
		t.Fatal(err)
	}
}
