package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	m := podfiles.Manifest{Volumes: []podfiles.Volume{{Name: "cfg", Dir: dir, DefaultMode: 0o644, Sources: []podfiles.Source{
		{Object: &podfiles.ObjectSource{Kind: "Secret", Name: "db", Env: "O0"}},
		{Files: []podfiles.File{{Path: "name", Env: "V0"}}},
	}}}}
	raw, _ := json.Marshal(m)
	vars := map[string]string{podfiles.ManifestEnv: string(raw), "O0_0": podfiles.Pack(map[string][]byte{"password": []byte("s3cret")}).Parts[0], "V0": "web-1"}
	var out, errOut bytes.Buffer
	if code := run([]string{"files"}, func(n string) (string, bool) { v, ok := vars[n]; return v, ok }, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for f, want := range map[string]string{"password": "s3cret", "name": "web-1"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", f, b, err)
		}
	}
	if strings.Contains(out.String()+errOut.String(), "s3cret") {
		t.Errorf("the agent printed a value: %s%s", out.String(), errOut.String())
	}
	delete(vars, "O0_0")
	if code := run([]string{"files"}, func(n string) (string, bool) { v, ok := vars[n]; return v, ok }, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `volume cfg: secret "db" not found`) {
		t.Errorf("missing object: exit %d, %s", code, errOut.String())
	}
}
