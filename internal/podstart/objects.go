package podstart

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/kubelet/envvars"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

const (
	kindConfigMap = "ConfigMap"
	kindSecret    = "Secret"
)

func objKey(kind, name string) string { return kind + "/" + name }

// object is a ConfigMap or Secret as read.
type object struct {
	kind, name      string
	found           bool
	uid             types.UID
	resourceVersion string
	// envData is what variables read: a ConfigMap's data, a Secret's data.
	envData map[string][]byte
	// fileData is what files read: a ConfigMap's data and binaryData, a Secret's data.
	fileData map[string][]byte
}

type objects struct {
	byKey map[string]*object
}

// read gets every object of the StartPlan, and the Services whose link variables the containers
// get.
func (r *resolver) read() error {
	if err := r.readObjects(); err != nil {
		return err
	}
	if len(r.tr.Start.ImagePullSecrets) > 0 {
		r.warn("spec.imagePullSecrets", WarningImagePullSecrets,
			"imagePullSecrets are not used by nodeless yet: images are pulled without credentials")
	}
	return r.readServices()
}

// readObjects gets every object of the StartPlan.
func (r *resolver) readObjects() error {
	r.objects = objects{byKey: map[string]*object{}}
	for _, ref := range r.tr.Start.Objects {
		o, err := r.get(ref.Kind, ref.Name)
		if err != nil {
			return err
		}
		r.objects.byKey[objKey(ref.Kind, ref.Name)] = o
	}
	return nil
}

func (r *resolver) get(kind, name string) (*object, error) {
	key := types.NamespacedName{Namespace: r.pod.Namespace, Name: name}
	o := &object{kind: kind, name: name}
	var obj client.Object = &corev1.ConfigMap{}
	if kind == kindSecret {
		obj = &corev1.Secret{}
	}
	err := r.deps.Reader.Get(r.ctx, key, obj)
	if apierrors.IsNotFound(err) {
		return o, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", kind, r.pod.Namespace, name, err)
	}
	o.found, o.uid, o.resourceVersion = true, obj.GetUID(), obj.GetResourceVersion()
	switch x := obj.(type) {
	case *corev1.ConfigMap:
		o.envData, o.fileData = map[string][]byte{}, map[string][]byte{}
		for k, v := range x.Data {
			o.envData[k], o.fileData[k] = []byte(v), []byte(v)
		}
		for k, v := range x.BinaryData {
			o.fileData[k] = v
		}
	case *corev1.Secret:
		o.envData, o.fileData = x.Data, x.Data
		if o.envData == nil {
			o.envData, o.fileData = map[string][]byte{}, map[string][]byte{}
		}
	}
	return o, nil
}

// seen lists the objects read, for Start.Objects.
func (r *resolver) seen() []ObjectSeen {
	var out []ObjectSeen
	for _, ref := range r.tr.Start.Objects {
		o := r.objects.byKey[objKey(ref.Kind, ref.Name)]
		s := ObjectSeen{Kind: ref.Kind, Name: ref.Name}
		if o != nil && o.found {
			s.UID, s.ResourceVersion = o.uid, o.resourceVersion
		}
		out = append(out, s)
	}
	return out
}

// startValues are the values translate.ResolveContainer reads.
func (r *resolver) startValues() translate.StartValues {
	v := translate.StartValues{PodIPs: r.deps.PodIPs, HostIPs: r.deps.HostIPs, ServiceEnv: r.serviceEnv,
		ConfigMaps: map[string]map[string]string{}, Secrets: map[string]map[string][]byte{}}
	for _, o := range r.objects.byKey {
		if !o.found {
			continue
		}
		if o.kind == kindSecret {
			v.Secrets[o.name] = o.envData
			continue
		}
		m := make(map[string]string, len(o.envData))
		for k, b := range o.envData {
			m[k] = string(b)
		}
		v.ConfigMaps[o.name] = m
	}
	return v
}

// readServices computes the Service link variables as the kubelet does
// (kubelet.getServiceEnvVarMap): the master Service "kubernetes" of the default namespace always,
// the Pod's namespace's Services when spec.enableServiceLinks (the default); Services without a
// cluster IP give none.
func (r *resolver) readServices() error {
	var list []*corev1.Service
	own := map[string]bool{}
	if r.tr.Start.ServiceLinks {
		var svcs corev1.ServiceList
		if err := r.deps.Reader.List(r.ctx, &svcs, client.InNamespace(r.pod.Namespace)); err != nil {
			return fmt.Errorf("listing the Services of namespace %s: %w", r.pod.Namespace, err)
		}
		for i := range svcs.Items {
			list = append(list, &svcs.Items[i])
			own[svcs.Items[i].Name] = true
		}
	}
	// A Service of the Pod's namespace named kubernetes wins over the master Service.
	if !own["kubernetes"] {
		var master corev1.Service
		err := r.deps.Reader.Get(r.ctx, types.NamespacedName{Namespace: metav1.NamespaceDefault, Name: "kubernetes"}, &master)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("reading Service default/kubernetes: %w", err)
		default:
			list = append(list, &master)
		}
	}
	r.serviceVar = envvars.FromServices(list)
	r.serviceEnv = map[string]string{}
	for _, e := range r.serviceVar {
		r.serviceEnv[e.Name] = e.Value
	}
	return nil
}
