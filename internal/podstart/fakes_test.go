package podstart

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
)

// reader is a client.Reader over a fixed set of ConfigMaps, Secrets and Services (a unit test of
// a translation step; controller tests use the real API server).
type reader struct {
	objs []client.Object
}

func (r *reader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	for _, o := range r.objs {
		if o.GetNamespace() != key.Namespace || o.GetName() != key.Name {
			continue
		}
		switch dst := obj.(type) {
		case *metav1.PartialObjectMetadata:
			if kindOf(o) == dst.GroupVersionKind().Kind {
				dst.ObjectMeta = *o.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)
				return nil
			}
		case *corev1.ConfigMap:
			if src, ok := o.(*corev1.ConfigMap); ok {
				*dst = *src.DeepCopy()
				return nil
			}
		case *corev1.Secret:
			if src, ok := o.(*corev1.Secret); ok {
				*dst = *src.DeepCopy()
				return nil
			}
		case *corev1.Service:
			if src, ok := o.(*corev1.Service); ok {
				*dst = *src.DeepCopy()
				return nil
			}
		}
	}
	gvk := schema.GroupResource{Resource: fmt.Sprintf("%T", obj)}
	return apierrors.NewNotFound(gvk, key.Name)
}

func kindOf(o client.Object) string {
	switch o.(type) {
	case *corev1.Secret:
		return "Secret"
	case *corev1.ConfigMap:
		return "ConfigMap"
	case *corev1.Service:
		return "Service"
	case *corev1.Pod:
		return "Pod"
	}
	return ""
}

func (r *reader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := &client.ListOptions{}
	o.ApplyOptions(opts)
	svcs, ok := list.(*corev1.ServiceList)
	if !ok {
		return fmt.Errorf("the test reader lists Services only, not %T", list)
	}
	for _, obj := range r.objs {
		if s, ok := obj.(*corev1.Service); ok && s.Namespace == o.Namespace {
			svcs.Items = append(svcs.Items, *s.DeepCopy())
		}
	}
	return nil
}

// mirror records the entries it keeps; ARNs are derived from names.
type mirror struct {
	mu    sync.Mutex
	calls []string
	data  map[string]map[string][]byte
}

func (m *mirror) EnsureMirrored(ctx context.Context, kind, ns, name string, uid types.UID, data map[string][]byte) (*secretsapi.Entry, error) {
	return m.Ensure(ctx, secretsapi.ObjectKey{Kind: kind, Namespace: ns, Name: name}, secretsapi.Owner{Kind: kind, Namespace: ns, Name: name, UID: uid}, data)
}

func (m *mirror) Ensure(_ context.Context, key secretsapi.ObjectKey, owner secretsapi.Owner, data map[string][]byte) (*secretsapi.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := "nodeless/c1/" + key.Namespace + "/" + strings.ToLower(key.Kind) + "/" + key.Name
	m.calls = append(m.calls, name+" owner="+owner.Kind+"/"+owner.Name)
	if m.data == nil {
		m.data = map[string]map[string][]byte{}
	}
	m.data[name] = data
	p := podfiles.Pack(data)
	e := &secretsapi.Entry{Name: name, KeyPart: p.KeyPart}
	for i := range p.Parts {
		arn := "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + name + "-abcdef"
		if i > 0 {
			arn = fmt.Sprintf("arn:aws:secretsmanager:us-east-1:000000000000:secret:%s/%d-abcdef", name, i)
		}
		e.ARNs = append(e.ARNs, arn)
	}
	return e, nil
}

func (m *mirror) called() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]string(nil), m.calls...)
	sort.Strings(out)
	return out
}

// tokens issues "token-for-<pod>-<audience>".
type tokens struct{ n int }

func (t *tokens) Token(_ context.Context, pod *corev1.Pod, audience string, exp int64) (*Token, error) {
	t.n++
	return &Token{Value: "token-for-" + pod.Name + "-" + audience, Expiry: time.Unix(1_800_000_000+exp, 0)}, nil
}
