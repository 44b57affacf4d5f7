package podfiles

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	volumeutil "k8s.io/kubernetes/pkg/volume/util"
)

// tree describes a volume directory: every path with its kind, mode and content or link target,
// timestamped directory names replaced by "..TS".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = ts(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "-> " + ts(target)
		case d.IsDir():
			out[rel] = "dir " + info.Mode().Perm().String()
		default:
			b, _ := os.ReadFile(p)
			out[rel] = info.Mode().Perm().String() + " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ts replaces a timestamped directory's name.
func ts(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, "..20") {
			parts[i] = "..TS"
		}
	}
	return strings.Join(parts, "/")
}

// TestWriteAsTheKubelet: a sequence of payloads leaves the same tree as the kubelet's AtomicWriter.
func TestWriteAsTheKubelet(t *testing.T) {
	mine, theirs := t.TempDir(), t.TempDir()
	kw, err := volumeutil.NewAtomicWriter(theirs, "test")
	if err != nil {
		t.Fatal(err)
	}
	steps := []map[string]FileProjection{
		{"ca.crt": {Data: []byte("CA"), Mode: 0o644}, "token": {Data: []byte("t1"), Mode: 0o600}, "conf/app.yaml": {Data: []byte("a: 1"), Mode: 0o644}},
		{"ca.crt": {Data: []byte("CA"), Mode: 0o644}, "token": {Data: []byte("t1"), Mode: 0o600}, "conf/app.yaml": {Data: []byte("a: 1"), Mode: 0o644}}, // unchanged
		{"ca.crt": {Data: []byte("CA"), Mode: 0o644}, "token": {Data: []byte("t2"), Mode: 0o600}, "conf/app.yaml": {Data: []byte("a: 1"), Mode: 0o644}},
		{"ca.crt": {Data: []byte("CA2"), Mode: 0o444}, "conf/deep/x": {Data: []byte("x"), Mode: 0o640}},
		{},
	}
	wantWrote := []bool{true, false, true, true, true}
	for i, files := range steps {
		kp := map[string]volumeutil.FileProjection{}
		for p, f := range files {
			kp[p] = volumeutil.FileProjection{Data: f.Data, Mode: f.Mode}
		}
		if err := kw.Write(kp, nil); err != nil {
			t.Fatalf("step %d: the kubelet's writer: %v", i, err)
		}
		wrote, err := Write(mine, files, nil)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if wrote != wantWrote[i] {
			t.Errorf("step %d: wrote %v, want %v", i, wrote, wantWrote[i])
		}
		if d := cmp.Diff(tree(t, theirs), tree(t, mine)); d != "" {
			t.Errorf("step %d: the tree differs from the kubelet's (-kubelet +nodeless):\n%s", i, d)
		}
	}
	if _, err := Write(mine, map[string]FileProjection{"../x": {}}, nil); err == nil {
		t.Error("a path with .. was written")
	}
}

// TestWriteFSGroup: with fsGroup the volume belongs to the group, files group-readable,
// directories setgid.
func TestWriteFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: giving files to another group needs root")
	}
	dir := t.TempDir()
	gid := int64(2000)
	if _, err := Write(dir, map[string]FileProjection{"a/key": {Data: []byte("v"), Mode: 0o600}}, &gid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"..data/a/key", "..data/a", "..data", "."} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int64(st.Gid) != gid {
			t.Errorf("%s belongs to group %v, want %d", p, fi.Sys(), gid)
		}
	}
	fi, _ := os.Stat(filepath.Join(dir, "a", "key"))
	if got := fi.Mode().Perm(); got != 0o640 {
		t.Errorf("file mode %v, want -rw-r-----", got)
	}
	di, _ := os.Stat(filepath.Join(dir, "a"))
	if di.Mode()&fs.ModeSetgid == 0 {
		t.Errorf("directory mode %v lacks setgid", di.Mode())
	}
}
