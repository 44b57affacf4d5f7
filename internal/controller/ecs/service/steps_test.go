package service

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
)

// TestForget: once a Service is gone (or finalized), it is no longer polled and its last
// emitted ECS event is dropped, so a new Service of the same name starts from its own status.
func TestForget(t *testing.T) {
	r := NewReconciler(nil, nil, record.NewFakeRecorder(10), managed.Options{}.WithDefaults())
	key := types.NamespacedName{Namespace: "ns", Name: "web"}
	r.Poller.Track(key, "c1", "arn:s")
	r.Poller.Put(key, &ecstypes.Service{ServiceArn: aws.String("arn:s")}, time.Now())
	r.lastEvents.Store(key, eventMark{id: "e1"})
	r.Forget(key)
	if _, ok := r.Poller.Get(key); ok {
		t.Error("the poller still tracks a forgotten Service")
	}
	if _, ok := r.lastEvents.Load(key); ok {
		t.Error("the last event of a forgotten Service is still remembered")
	}
}
