package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// TestWithCapabilities: linuxParameters.capabilities drop, then add, in every capability set;
// "ALL" drops every capability.
func TestWithCapabilities(t *testing.T) {
	base := []string{"CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"}
	for _, tc := range []struct {
		name string
		caps *model.KernelCapabilities
		want []string
	}{
		{"none", nil, base},
		{"add SYS_PTRACE, drop NET_RAW", &model.KernelCapabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"NET_RAW"}}, []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_PTRACE"}},
		{"drop ALL, add SYS_PTRACE", &model.KernelCapabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"ALL"}}, []string{"CAP_SYS_PTRACE"}},
		{"add one it has", &model.KernelCapabilities{Add: []string{"KILL"}}, base},
		{"spelled with CAP_, in lower case", &model.KernelCapabilities{Add: []string{"cap_sys_ptrace"}, Drop: []string{"CAP_NET_RAW"}}, []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_PTRACE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
				Bounding: base, Effective: base, Permitted: base, Inheritable: base,
			}}}
			if err := withCapabilities(tc.caps)(context.Background(), nil, nil, s); err != nil {
				t.Fatal(err)
			}
			c := s.Process.Capabilities
			for name, got := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s set (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// TestLinuxCapabilitiesInContainer: a container's linuxParameters.capabilities reach its process
// (CapEff of /proc/self/status): SYS_PTRACE added, NET_RAW dropped.
func TestLinuxCapabilitiesInContainer(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	app := container("app", withCommand("-listen", ":8080"), withPort(8080))
	app.LinuxParameters = &model.LinuxParameters{Capabilities: &model.KernelCapabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"NET_RAW"}}}
	spec := taskSpec(app)
	st := e.start(spec)
	e.waitState(spec.TaskID, 20*time.Second, "app RUNNING", running("app"))
	status := get(t, st.HostPorts["8080/tcp"], "/file?path=/proc/self/status")
	var eff uint64
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff line %q: %v", line, err)
			}
			eff = n
		}
	}
	const capNetRaw, capSysPtrace = 13, 19 // linux/capability.h
	if eff&(1<<capSysPtrace) == 0 || eff&(1<<capNetRaw) != 0 {
		t.Errorf("CapEff = %#x: want SYS_PTRACE (bit 19) set and NET_RAW (bit 13) clear", eff)
	}
	if err := e.rt.Stop(context.Background(), spec.TaskID); err != nil {
		t.Fatal(err)
	}
}

// privateRegistry serves an OCI registry on 127.0.0.1 that wants HTTP basic auth user:pass, and
// puts the test image in it as private/testserver:1; it returns that image's reference.
func privateRegistry(t *testing.T) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pass" {
			w.Header().Set("WWW-Authenticate", `Basic realm="nodeless-test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	bin, err := testimage.Binary()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimage.Image(bin)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, srv.URL+"/v2/private/testserver", img)
	return strings.TrimPrefix(srv.URL, "http://") + "/private/testserver:1"
}

// pushImage uploads img's blobs and manifest (tag 1) to the repository at base with the
// distribution API's monolithic uploads.
func pushImage(t *testing.T, base string, img v1.Image) {
	t.Helper()
	put := func(method, url, contentType string, body []byte) {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("user", "pass")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s", method, url, resp.Status)
		}
	}
	blob := func(b []byte) {
		put(http.MethodPost, base+"/blobs/uploads/?digest=sha256:"+fmt.Sprintf("%x", sha256.Sum256(b)), "application/octet-stream", b)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	blob(cfg)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		blob(b)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	put(http.MethodPut, base+"/manifests/1", string(mt), manifest)
}

// TestRepositoryCredentials: an image of a private registry is pulled with the credentials of the
// container's repositoryCredentials (resolved by the caller into RegistryAuth); without them the
// pull fails (CannotPullContainerError), and a Start whose credentials were not resolved fails the
// task before any pull.
func TestRepositoryCredentials(t *testing.T) {
	e := newEnv(t, "")
	ref := privateRegistry(t)

	def := container("app", withCommand("-listen", ":8080"), withPort(8080))
	def.Image = ptr(ref)
	def.RepositoryCredentials = &model.RepositoryCredentials{CredentialsParameter: "registry"}

	unresolved := taskSpec(def)
	if _, err := containerSpecs(unresolved, true); err == nil || !strings.Contains(err.Error(), "repositoryCredentials registry") {
		t.Errorf("containerSpecs without the credentials resolved: %v; want a ResourceInitializationError naming them", err)
	}

	wrong := taskSpec(def)
	wrong.RegistryAuth = map[string]model.RegistryAuth{"app": {Username: "user", Password: "wrong"}}
	e.start(wrong)
	st := e.waitState(wrong.TaskID, 60*time.Second, "StartFailure", func(s TaskState) bool { return s.StartFailure != "" })
	if !strings.HasPrefix(st.StartFailure, "CannotPullContainerError: ") {
		t.Errorf("StartFailure with wrong credentials = %q, want CannotPullContainerError", st.StartFailure)
	}

	right := taskSpec(def)
	right.RegistryAuth = map[string]model.RegistryAuth{"app": {Username: "user", Password: "pass"}}
	rst := e.start(right)
	e.waitState(right.TaskID, 60*time.Second, "app RUNNING", running("app"))
	get(t, rst.HostPorts["8080/tcp"], "/healthz")
	if err := e.rt.Stop(context.Background(), right.TaskID); err != nil {
		t.Fatal(err)
	}
}
