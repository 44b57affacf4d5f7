package podfiles

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxPartBytes is the most a part of a mirrored object holds: the largest SecretString Secrets
// Manager stores (65536 bytes).
const MaxPartBytes = 65536

// binaryPrefix starts the member of a value that is not UTF-8 text: base64 of the bytes. Kubernetes
// keys are [-._a-zA-Z0-9]+, so no key collides with a member so named.
const binaryPrefix = "base64/"

// Packed is a ConfigMap's or Secret's data as Secrets Manager secret values: one JSON object of
// strings per part, each at most MaxPartBytes.
type Packed struct {
	// Parts are the SecretStrings, in order. Data of any size packs into at least one part ("{}"
	// for no data), so an object that exists always has a store entry.
	Parts []string
	// KeyPart gives, for each key whose value is UTF-8 text held whole in one part, that part: its
	// value is that part's member named by the key, which an ECS secrets[].valueFrom reads with
	// the json-key suffix (ARN:key::). Keys missing here (binary values, values larger than a
	// part) cannot become environment variables through ECS.
	KeyPart map[string]int
}

// Pack lays data out in parts: keys in order, each value UTF-8 text under its key, or base64 of
// its bytes under "base64/" + key; a value that does not fit in what is left of a part continues
// in the next parts under the same member name (Unpack concatenates them in part order).
func Pack(data map[string][]byte) Packed {
	p := &packer{out: Packed{KeyPart: map[string]int{}}}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := data[k]
		if utf8.Valid(v) {
			p.add(k, string(v), true)
		} else {
			p.add(binaryPrefix+k, base64.StdEncoding.EncodeToString(v), false)
		}
	}
	p.flush()
	return p.out
}

type packer struct {
	out     Packed
	members []string // encoded members of the part being filled
	size    int      // its encoded size: "{}" and the commas included
}

func (p *packer) add(name, value string, text bool) {
	nameLen := len(encode(name))
	memberLen := nameLen + 1 + len(encode(value))
	// A value that fits in a part of its own, but not in what is left of this one, starts a part.
	if len(p.members) > 0 && p.size+1+memberLen > MaxPartBytes && 2+memberLen <= MaxPartBytes {
		p.flush()
	}
	first, whole := -1, true
	for {
		room := MaxPartBytes - 2 - nameLen - 1 // braces and colon
		if len(p.members) > 0 {
			room = MaxPartBytes - p.size - 1 - nameLen - 1 // comma and colon
		}
		n := fitting(value, room)
		if n == 0 && len(p.members) > 0 && value != "" {
			p.flush() // not even one character fits here
			continue
		}
		if first < 0 {
			first = len(p.out.Parts) // the part being filled
		}
		if n >= len(value) || n == 0 { // all of it (n == 0 with an empty part: a name too long to split after)
			p.put(name, value)
			break
		}
		p.put(name, value[:n])
		value, whole = value[n:], false
		p.flush()
	}
	if text && whole {
		p.out.KeyPart[name] = first
	}
}

func (p *packer) put(name, value string) {
	m := string(encode(name)) + ":" + string(encode(value))
	if len(p.members) == 0 {
		p.size = 2
	} else {
		p.size++
	}
	p.members = append(p.members, m)
	p.size += len(m)
}

func (p *packer) flush() {
	if len(p.members) == 0 && len(p.out.Parts) > 0 {
		return
	}
	p.out.Parts = append(p.out.Parts, "{"+strings.Join(p.members, ",")+"}")
	p.members, p.size = nil, 0
}

// fitting is the length of the longest prefix of s, ending on a rune boundary, whose JSON string
// is at most room bytes.
func fitting(s string, room int) int {
	if room < 2 {
		return 0
	}
	if len(encode(s)) <= room {
		return len(s)
	}
	n, used := 0, 2 // the quotes
	for i, r := range s {
		w := runeJSONLen(r, s[i:])
		if used+w > room {
			break
		}
		used += w
		n = i + utf8.RuneLen(r)
	}
	return n
}

// runeJSONLen is how many bytes encoding/json (HTML escaping off) writes for the rune at the start
// of rest.
func runeJSONLen(r rune, rest string) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
		return 2
	case r < 0x20, r == '\u2028', r == '\u2029':
		return 6
	case r == utf8.RuneError:
		_, size := utf8.DecodeRuneInString(rest)
		if size == 1 {
			return 6 // invalid byte: \ufffd (never in UTF-8 input)
		}
	}
	return utf8.RuneLen(r)
}

// encode is s as a JSON string, without HTML escaping.
func encode(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Unpack is the data Pack laid out in parts.
func Unpack(parts []string) (map[string][]byte, error) {
	joined := map[string]*strings.Builder{}
	for i, part := range parts {
		var members map[string]string
		if err := json.Unmarshal([]byte(part), &members); err != nil {
			return nil, fmt.Errorf("part %d of the object is not a JSON object of strings: %w", i, err)
		}
		for name, v := range members {
			b := joined[name]
			if b == nil {
				b = &strings.Builder{}
				joined[name] = b
			}
			b.WriteString(v)
		}
	}
	out := make(map[string][]byte, len(joined))
	for name, b := range joined {
		key, binary := strings.CutPrefix(name, binaryPrefix)
		if !binary {
			out[key] = []byte(b.String())
			continue
		}
		v, err := base64.StdEncoding.DecodeString(b.String())
		if err != nil {
			return nil, fmt.Errorf("key %s: its base64 does not decode: %w", key, err)
		}
		out[key] = v
	}
	return out, nil
}
