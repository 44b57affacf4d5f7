package controlplane

import (
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiserverfeatures "k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/component-base/featuregate"
)

// builtOptions are the components' options, built once per test binary as Up builds them: the
// flags of the three components share process-wide state (feature gates, the component registry).
var builtOptions struct {
	once     sync.Once
	stateDir string
	pki      *PKI
	opts     *componentOptions
	err      error
}

func testOptions(t *testing.T) (Config, *PKI, *componentOptions) {
	t.Helper()
	b := &builtOptions
	b.once.Do(func() {
		// Not t.TempDir: the options outlive the first test that asks; TestMain removes it
		// (RemoveBuiltOptions).
		dir, err := os.MkdirTemp("", "nodeless-controlplane-test-")
		if err != nil {
			b.err = err
			return
		}
		b.stateDir = dir
		if b.pki, b.err = EnsurePKI(pkiDir(dir)); b.err != nil {
			return
		}
		b.opts, b.err = newComponentOptions(Config{StateDir: dir}.withDefaults(), b.pki)
	})
	if b.err != nil {
		t.Fatalf("building the components' options: %v", b.err)
	}
	return Config{StateDir: b.stateDir}.withDefaults(), b.pki, b.opts
}

// TestFeatureGatesTakeEffect builds the components' options as Up does and checks the gates that
// featureGates sets are in effect in the process-wide gates all components read.
func TestFeatureGatesTakeEffect(t *testing.T) {
	testOptions(t)
	want := map[featuregate.Feature]bool{
		apiserverfeatures.UnknownVersionInteroperabilityProxy: false,
	}
	got := map[featuregate.Feature]bool{}
	for gate := range want {
		got[gate] = utilfeature.DefaultFeatureGate.Enabled(gate)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("feature gates (-want +got):\n%s", diff)
	}
}

// TestAPIServerTalksToTheKubeletAPIWithTheClusterPKI: the API server authenticates to the virtual
// node's kubelet API with its own client certificate, verifies the node's serving certificate with
// the cluster CA, and reaches the node at its InternalIP.
func TestAPIServerTalksToTheKubeletAPIWithTheClusterPKI(t *testing.T) {
	_, p, opts := testOptions(t)
	kc := opts.apiServer.KubeletConfig
	got := map[string]any{
		"cert": kc.TLSClientConfig.CertFile, "key": kc.TLSClientConfig.KeyFile,
		"ca": kc.TLSClientConfig.CAFile, "addresses": kc.PreferredAddressTypes,
	}
	want := map[string]any{
		"cert": p.KubeletClientCert, "key": p.KubeletClientKey,
		"ca": p.CACert, "addresses": []string{"InternalIP"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kube-apiserver's kubelet client (-want +got):\n%s", diff)
	}
}

// TestServiceAccountTokens: the API server signs bound tokens (TokenRequest) with the state dir's
// key, names itself as their issuer, and verifies them with the public half; the
// controller-manager signs legacy token Secrets with the same key and publishes the CA.
func TestServiceAccountTokens(t *testing.T) {
	_, p, opts := testOptions(t)
	sa := opts.apiServer.Authentication.ServiceAccounts
	got := map[string]any{
		"signing key": opts.apiServer.ServiceAccountSigningKeyFile,
		"issuers":     sa.Issuers,
		"key files":   sa.KeyFiles,
		"lookup":      sa.Lookup,
		"kcm key":     opts.manager.SAController.ServiceAccountKeyFile,
		"kcm root ca": opts.manager.SAController.RootCAFile,
	}
	want := map[string]any{
		"signing key": p.SAKey,
		"issuers":     []string{serviceAccountIssuer},
		"key files":   []string{p.SAPub},
		"lookup":      true,
		"kcm key":     p.SAKey,
		"kcm root ca": p.CACert,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service-account options (-want +got):\n%s", diff)
	}
}

// TestSchedulerOptions: the scheduler runs as its own user, without leader election or a serving
// port, with the default profile (no --config).
func TestSchedulerOptions(t *testing.T) {
	cfg, _, opts := testOptions(t)
	s := opts.scheduler
	got := map[string]any{
		"kubeconfig":   s.Deprecated.Kubeconfig,
		"leader elect": s.LeaderElection.LeaderElect,
		"port":         s.SecureServing.BindPort,
		"config":       s.ConfigFile,
	}
	want := map[string]any{
		"kubeconfig":   schedulerKubeconfig(cfg.StateDir),
		"leader elect": false,
		"port":         0,
		"config":       "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kube-scheduler options (-want +got):\n%s", diff)
	}
}

// TestControllerManagerOptions: the controllers of DefaultControllers() but
// taint-eviction-controller (run beside it, runTaintEviction), and the CSR signer for
// kube-apiserver-client certificates only.
func TestControllerManagerOptions(t *testing.T) {
	_, p, opts := testOptions(t)
	m := opts.manager
	controllers := slices.DeleteFunc(DefaultControllers(), isTaintEviction)
	if len(controllers) == len(DefaultControllers()) {
		t.Error("taint-eviction-controller is not among DefaultControllers()")
	}
	if diff := cmp.Diff(controllers, m.Generic.Controllers); diff != "" {
		t.Errorf("--controllers (-want +got):\n%s", diff)
	}
	csr := m.CSRSigningController
	got := map[string]string{
		"kube-apiserver-client cert": csr.KubeAPIServerClientSignerConfiguration.CertFile,
		"kube-apiserver-client key":  csr.KubeAPIServerClientSignerConfiguration.KeyFile,
		"cluster-signing cert":       csr.ClusterSigningCertFile,
		"kubelet-serving cert":       csr.KubeletServingSignerConfiguration.CertFile,
		"kubelet-client cert":        csr.KubeletClientSignerConfiguration.CertFile,
		"legacy-unknown cert":        csr.LegacyUnknownSignerConfiguration.CertFile,
	}
	want := map[string]string{
		"kube-apiserver-client cert": p.CACert,
		"kube-apiserver-client key":  p.CAKey,
		"cluster-signing cert":       "",
		"kubelet-serving cert":       "",
		"kubelet-client cert":        "",
		"legacy-unknown cert":        "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSR signers (-want +got):\n%s", diff)
	}
	if !slices.Contains(m.Generic.Controllers, "certificatesigningrequest-signing-controller") {
		t.Errorf("the CSR signer is configured but not run")
	}
}
