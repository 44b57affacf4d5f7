package awshost

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/shlex"
)

var testMarker = marker{a: "nodeless-aaaaaaaaaaaa", b: "bbbbbbbbbbbb"}

// TestWrapCommandQuoting: the SSM agent splits the command with github.com/google/shlex; every
// argument comes back exactly, whatever it holds.
func TestWrapCommandQuoting(t *testing.T) {
	argvs := [][]string{
		{"ls", "-l"},
		{"sh", "-c", `echo "$HOME" 'single' \back; exit 3`},
		{"printf", "%s\n", "it's", "", "#not a comment", "  spaced  ", "new\nline", `\'`, "'"},
	}
	for _, argv := range argvs {
		for _, tty := range []bool{false, true} {
			got, err := shlex.Split(wrapCommand(argv, testMarker, tty, false))
			if err != nil {
				t.Fatalf("%q: %v", argv, err)
			}
			if len(got) < 4 || got[0] != "/bin/sh" || got[1] != "-c" || got[3] != "sh" {
				t.Fatalf("%q: split into %q", argv, got)
			}
			if diff := cmp.Diff(argv, got[4:]); diff != "" {
				t.Errorf("arguments after splitting (-want +got):\n%s", diff)
			}
		}
	}
}

// TestWrapCommandRuns: the wrapper, run by /bin/sh as the agent runs it, prints the ready line,
// the command's output and its exit status (here without a terminal: stty fails quietly).
func TestWrapCommandRuns(t *testing.T) {
	tests := []struct {
		argv  []string
		stdin string
		want  string
	}{
		{[]string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "", "out\nerr\n"},
		{[]string{"printf", "%s|", "a b", "it's", "$HOME"}, "", "a b|it's|$HOME|"},
		{[]string{"cat"}, "", ""}, // no stdin: /dev/null, cat ends at once
		{[]string{"true"}, "", ""},
	}
	for _, tt := range tests {
		words, err := shlex.Split(wrapCommand(tt.argv, testMarker, false, false))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(words[0], words[1:]...) // #nosec G204 -- the test's own command
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%q: %v (%s)", tt.argv, err, out.String())
		}
		w := newMarkerWriter(io.Discard, testMarker)
		var shown bytes.Buffer
		w.w = &shown
		_, _ = w.Write(out.Bytes())
		_ = w.flush()
		if shown.String() != tt.want {
			t.Errorf("%q: output %q, want %q (raw %q)", tt.argv, shown.String(), tt.want, out.String())
		}
		if !w.isReady || w.code() == nil {
			t.Fatalf("%q: ready %v code %v in %q", tt.argv, w.isReady, w.code(), out.String())
		}
		if want := map[string]int{"sh": 3}[tt.argv[0]]; *w.code() != want {
			t.Errorf("%q: exit status %d, want %d", tt.argv, *w.code(), want)
		}
	}
}

// TestMarkerWriter: status lines are removed wherever the output is split into writes; the rest
// passes unchanged, including text that only looks like the start of a status line.
func TestMarkerWriter(t *testing.T) {
	p := "nodeless-aaaaaaaaaaaabbbbbbbbbbbb:"
	tests := []struct {
		name      string
		in        string
		want      string
		wantReady bool
		wantCode  *int
	}{
		{"plain", p + "ready\nhello\n" + p + "0\n", "hello\n", true, ptr(0)},
		{"terminal newlines", p + "ready\r\nhello\r\n" + p + "127\r\n", "hello\r\n", true, ptr(127)},
		{"no newline before status", p + "ready\nno newline" + p + "2\n", "no newline", true, ptr(2)},
		{"lookalike", "nodeless-aaaa is not it\n" + p + "readx\n" + p + "1234\n", "nodeless-aaaa is not it\n" + p + "readx\n" + p + "1234\n", false, nil},
		{"halves apart (ps)", "printf nodeless-aaaaaaaaaaaa bbbbbbbbbbbb:\n", "printf nodeless-aaaaaaaaaaaa bbbbbbbbbbbb:\n", false, nil},
		{"cut short", p + "ready\nout" + p + "1", "out" + p + "1", true, nil},
		{"output after the status", p + "ready\n" + p + "5\nlate\n", "late\n", true, ptr(5)},
	}
	for _, tt := range tests {
		for split := 0; split <= len(tt.in); split++ {
			for _, step := range []int{1, 3, len(tt.in) + 1} {
				var out bytes.Buffer
				w := newMarkerWriter(&out, testMarker)
				chunks := []string{tt.in[:split]}
				for rest := tt.in[split:]; rest != ""; rest = rest[min(step, len(rest)):] {
					chunks = append(chunks, rest[:min(step, len(rest))])
				}
				for _, c := range chunks {
					if n, err := w.Write([]byte(c)); err != nil || n != len(c) {
						t.Fatalf("Write: %d, %v", n, err)
					}
				}
				if err := w.flush(); err != nil {
					t.Fatal(err)
				}
				if out.String() != tt.want || w.isReady != tt.wantReady || !cmp.Equal(tt.wantCode, w.code()) {
					t.Fatalf("%s (split %d, step %d): output %q ready %v code %v; want %q %v %v",
						tt.name, split, step, out.String(), w.isReady, w.code(), tt.want, tt.wantReady, tt.wantCode)
				}
			}
		}
	}
}

func ptr(i int) *int { return &i }

func TestEOTReader(t *testing.T) {
	tests := map[string]string{
		"":        "\x04",
		"ls\n":    "ls\n\x04",
		"partial": "partial\x04\x04",
	}
	for in, want := range tests {
		got, err := io.ReadAll(newEOTReader(strings.NewReader(in)))
		if err != nil || string(got) != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	// A client that went away (an error, not EOF) leaves the terminal's input open.
	got, err := io.ReadAll(newEOTReader(io.MultiReader(strings.NewReader("x"), errReader{})))
	if err != nil || string(got) != "x" {
		t.Errorf("after an error: %q, %v; want %q", got, err, "x")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
