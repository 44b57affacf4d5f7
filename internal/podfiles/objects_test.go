package podfiles

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPackUnpack(t *testing.T) {
	big := strings.Repeat("ab\"\n\u00e9\u2028<", 30000) // 270 000 bytes, 450 000 as JSON: escapes of every width
	for _, tc := range []struct {
		name      string
		data      map[string][]byte
		wantParts int
		wantKeys  map[string]int
	}{
		{"nothing", map[string][]byte{}, 1, map[string]int{}},
		{"small", map[string][]byte{"a": []byte("1"), "tls.crt": []byte("-----BEGIN-----\n")}, 1, map[string]int{"a": 0, "tls.crt": 0}},
		{"binary", map[string][]byte{"bin": {0xff, 0, 1}, "t": []byte("x")}, 1, map[string]int{"t": 0}},
		{"fills parts in order", map[string][]byte{"a": bytes.Repeat([]byte("x"), 40000), "b": bytes.Repeat([]byte("y"), 40000), "c": []byte("z")}, 2, map[string]int{"a": 0, "b": 1, "c": 1}},
		{"a value larger than a part", map[string][]byte{"big": []byte(big), "small": []byte("s")}, 7, map[string]int{"small": 6}},
		{"a large binary value", map[string][]byte{"img": bytes.Repeat([]byte{0xff, 0xfe}, 60000)}, 3, map[string]int{}},
	} {
		p := Pack(tc.data)
		if len(p.Parts) != tc.wantParts {
			t.Errorf("%s: %d parts, want %d", tc.name, len(p.Parts), tc.wantParts)
		}
		for i, part := range p.Parts {
			if len(part) > MaxPartBytes {
				t.Errorf("%s: part %d has %d bytes", tc.name, i, len(part))
			}
			var m map[string]string
			if err := json.Unmarshal([]byte(part), &m); err != nil {
				t.Errorf("%s: part %d: %v", tc.name, i, err)
			}
		}
		if d := cmp.Diff(tc.wantKeys, p.KeyPart); d != "" {
			t.Errorf("%s: KeyPart (-want +got):\n%s", tc.name, d)
		}
		for k, i := range p.KeyPart { // what ECS's json-key reads is the whole value
			var m map[string]string
			_ = json.Unmarshal([]byte(p.Parts[i]), &m)
			if m[k] != string(tc.data[k]) {
				t.Errorf("%s: part %d member %s is not the whole value", tc.name, i, k)
			}
		}
		got, err := Unpack(p.Parts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d := cmp.Diff(tc.data, got); d != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", tc.name, d)
		}
		if again := Pack(tc.data); !cmp.Equal(again, p) {
			t.Errorf("%s: Pack is not deterministic", tc.name)
		}
	}
}
