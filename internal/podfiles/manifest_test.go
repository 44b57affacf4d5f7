package podfiles

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(vars map[string]string) Lookup {
	return func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
}

func TestPayload(t *testing.T) {
	mode := func(m int32) *int32 { return &m }
	db := Pack(map[string][]byte{"password": []byte("p"), "user": []byte("u")})
	vars := map[string]string{PartEnv("OBJ_0", 0): db.Parts[0], "VAL_0": "web-1"}
	for _, tc := range []struct {
		name    string
		v       Volume
		want    map[string]FileProjection
		wantErr string
	}{
		{"every key", Volume{DefaultMode: 0o644, Sources: []Source{{Object: &ObjectSource{Kind: "Secret", Name: "db", Env: "OBJ_0"}}}},
			map[string]FileProjection{"password": {[]byte("p"), 0o644}, "user": {[]byte("u"), 0o644}}, ""},
		{"items and modes", Volume{DefaultMode: 0o644, Sources: []Source{{Object: &ObjectSource{Kind: "Secret", Name: "db", Env: "OBJ_0",
			Items: []Item{{Key: "password", Path: "db/pw", Mode: mode(0o400)}}}}}},
			map[string]FileProjection{"db/pw": {[]byte("p"), 0o400}}, ""},
		{"projected: downward API, token and template files", Volume{DefaultMode: 0o644, Sources: []Source{
			{Object: &ObjectSource{Kind: "Secret", Name: "db", Env: "OBJ_0", Items: []Item{{Key: "user", Path: "user"}}}},
			{Files: []File{{Path: "podname", Env: "VAL_0"}, {Path: "cpu", Content: "1", Mode: mode(0o444)}}},
		}}, map[string]FileProjection{"user": {[]byte("u"), 0o644}, "podname": {[]byte("web-1"), 0o644}, "cpu": {[]byte("1"), 0o444}}, ""},
		{"missing optional object", Volume{Sources: []Source{{Object: &ObjectSource{Kind: "ConfigMap", Name: "cfg", Env: "OBJ_9", Optional: true}}}},
			map[string]FileProjection{}, ""},
		{"missing object", Volume{Sources: []Source{{Object: &ObjectSource{Kind: "ConfigMap", Name: "cfg", Env: "OBJ_9"}}}},
			nil, `configmap "cfg" not found`},
		{"missing optional key", Volume{Sources: []Source{{Object: &ObjectSource{Kind: "Secret", Name: "db", Env: "OBJ_0", Optional: true, Items: []Item{{Key: "x", Path: "x"}}}}}},
			map[string]FileProjection{}, ""},
		{"missing key", Volume{Sources: []Source{{Object: &ObjectSource{Kind: "Secret", Name: "db", Env: "OBJ_0", Items: []Item{{Key: "x", Path: "x"}}}}}},
			nil, "non-existent key x"},
		{"subPath directory", Volume{SubPath: "db", DefaultMode: 0o644, Sources: []Source{{Object: &ObjectSource{Kind: "Secret", Name: "db", Env: "OBJ_0",
			Items: []Item{{Key: "password", Path: "db/pw"}, {Key: "user", Path: "u"}}}}}},
			map[string]FileProjection{"pw": {[]byte("p"), 0o644}}, ""},
		{"subPath file", Volume{SubPath: "u", Sources: []Source{{Object: &ObjectSource{Kind: "Secret", Name: "db", Env: "OBJ_0",
			Items: []Item{{Key: "user", Path: "u"}}}}}}, nil, "subPath u is a file"},
	} {
		got, err := Payload(&tc.v, env(vars))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}
