package testenv_test

import (
	"context"
	"errors"
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.nodeless.dev
spec:
  group: test.nodeless.dev
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`

func TestInProcessSharedWithCRDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	first := testenv.Start(t, testenv.WithCRDs([]byte(widgetCRD)))
	second := testenv.Start(t, testenv.WithCRDs([]byte(widgetCRD))) // idempotent, same control plane
	if first.StateDir != second.StateDir {
		t.Errorf("in-process Starts use different control planes: %s and %s", first.StateDir, second.StateDir)
	}
	if first.Namespace == second.Namespace {
		t.Errorf("both Starts got namespace %s, want one each", first.Namespace)
	}

	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(first.Config)
	if _, err := client.CoreV1().Namespaces().Get(ctx, first.Namespace, metav1.GetOptions{}); err != nil {
		t.Fatalf("test namespace: %v", err)
	}
	dyn := dynamic.NewForConfigOrDie(first.Config)
	widgets := dyn.Resource(schema.GroupVersionResource{Group: "test.nodeless.dev", Version: "v1", Resource: "widgets"})
	w := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "test.nodeless.dev/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w"},
		"spec":     map[string]any{"size": int64(3)},
	}}
	if _, err := widgets.Namespace(first.Namespace).Create(ctx, w, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Widget: %v", err)
	}
}

func TestSecondControlPlaneInProcessIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	testenv.Start(t) // makes sure this process already runs one
	err := controlplane.Up(context.Background(), controlplane.UpOptions{Config: controlplane.Config{StateDir: t.TempDir()}})
	if !errors.Is(err, controlplane.ErrAlreadyStarted) {
		t.Errorf("second Up in one process: got %v, want ErrAlreadyStarted", err)
	}
}
