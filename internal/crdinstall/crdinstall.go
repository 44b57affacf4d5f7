// Package crdinstall creates or updates CustomResourceDefinitions and waits until they are served:
// Established, and listed by the API server's discovery (which is what REST mappers, informers and
// kubectl read; it can lag the Established condition by a moment).
// `nodeless up`, `nodeless controller` and the test harness install CRDs through it; it depends only
// on client-go and the apiextensions client, not on the embedded control plane.
package crdinstall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

const (
	// establishTimeout bounds the wait for a CRD to be served.
	establishTimeout = 30 * time.Second
	// pollInterval is how often a CRD's Established condition is read.
	pollInterval = 100 * time.Millisecond
)

// Install creates or updates the CustomResourceDefinitions in manifests (YAML or JSON, several
// documents per manifest allowed, as controller-gen writes them) and waits until every one is
// Established and discovery lists its resources in every served version, so that a REST mapper or
// informer built afterwards finds them. It is idempotent. A document of any other kind is
// an error: this is not a general `kubectl apply`.
func Install(ctx context.Context, cfg *rest.Config, manifests [][]byte) error {
	crds, err := Decode(manifests)
	if err != nil {
		return err
	}
	if len(crds) == 0 {
		return nil
	}
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiextensions client: %w", err)
	}
	crdClient := client.ApiextensionsV1().CustomResourceDefinitions()
	for _, crd := range crds {
		if err := applyCRD(ctx, crdClient, crd); err != nil {
			return err
		}
	}
	for _, crd := range crds {
		if err := waitEstablished(ctx, crdClient, crd.Name); err != nil {
			return err
		}
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	for _, crd := range crds {
		if err := waitDiscovered(ctx, dc, crd); err != nil {
			return err
		}
	}
	return nil
}

// Decode parses manifests into CustomResourceDefinitions, skipping empty documents.
func Decode(manifests [][]byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var crds []*apiextensionsv1.CustomResourceDefinition
	for i, m := range manifests {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(m), 4096)
		for {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			err := dec.Decode(crd)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("decoding CRD manifest %d: %w", i, err)
			}
			if crd.Kind == "" && crd.Name == "" {
				continue // empty document
			}
			if crd.Kind != "CustomResourceDefinition" {
				return nil, fmt.Errorf("manifest %d: %s %q is not a CustomResourceDefinition", i, crd.Kind, crd.Name)
			}
			crds = append(crds, crd)
		}
	}
	return crds, nil
}

type crdInterface interface {
	Create(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition, opts metav1.CreateOptions) (*apiextensionsv1.CustomResourceDefinition, error)
	Update(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition, opts metav1.UpdateOptions) (*apiextensionsv1.CustomResourceDefinition, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*apiextensionsv1.CustomResourceDefinition, error)
}

func applyCRD(ctx context.Context, c crdInterface, crd *apiextensionsv1.CustomResourceDefinition) error {
	_, err := c.Create(ctx, crd, metav1.CreateOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
	}
	// Update the spec of the existing one, retrying when something else changed it meanwhile.
	for attempt := 0; ; attempt++ {
		existing, err := c.Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading CRD %s: %w", crd.Name, err)
		}
		existing.Spec = crd.Spec
		existing.Labels = crd.Labels
		existing.Annotations = crd.Annotations
		_, err = c.Update(ctx, existing, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 5 {
			return fmt.Errorf("updating CRD %s: %w", crd.Name, err)
		}
	}
}

func waitEstablished(ctx context.Context, c crdInterface, name string) error {
	err := wait.PollUntilContextTimeout(ctx, pollInterval, establishTimeout, true,
		func(ctx context.Context) (bool, error) {
			crd, err := c.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil //nolint:nilerr // keep polling through transient errors
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s to be established: %w", name, err)
	}
	return nil
}

// waitDiscovered waits until discovery lists the CRD's plural in every served version.
func waitDiscovered(ctx context.Context, dc discovery.DiscoveryInterface, crd *apiextensionsv1.CustomResourceDefinition) error {
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		gv := crd.Spec.Group + "/" + v.Name
		var last error
		err := wait.PollUntilContextTimeout(ctx, pollInterval, establishTimeout, true,
			func(context.Context) (bool, error) {
				list, err := dc.ServerResourcesForGroupVersion(gv)
				if err != nil {
					last = err
					return false, nil
				}
				return listsResource(list, crd.Spec.Names.Plural), nil
			})
		if err != nil {
			if last != nil {
				err = errors.Join(err, last)
			}
			return fmt.Errorf("waiting for discovery to serve %s in %s: %w", crd.Spec.Names.Plural, gv, err)
		}
	}
	return nil
}

func listsResource(list *metav1.APIResourceList, plural string) bool {
	if list == nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == plural {
			return true
		}
	}
	return false
}
