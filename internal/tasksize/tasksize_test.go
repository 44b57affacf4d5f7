package tasksize

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseCPU is the grammar of RegisterTaskDefinition's cpu: "an integer using CPU units (for
// example, 1024) or as a string using vCPUs (for example, 1 vCPU or 1 vcpu)".
func TestParseCPU(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "1024", want: 1024},
		{in: "256", want: 256},
		{in: " 512 ", want: 512},
		{in: "1 vCPU", want: 1024},
		{in: "1 vcpu", want: 1024},
		{in: "1vCPU", want: 1024},
		{in: "2 VCPU", want: 2048},
		{in: "0.25 vCPU", want: 256},
		{in: ".5 vcpu", want: 512},
		{in: "0.125 vCPU", want: 128},
		{in: "16 vCPU", want: 16384},
		{in: "", wantErr: "give CPU units"},
		{in: "0", wantErr: "out of range"},
		{in: "-256", wantErr: "give CPU units"},
		{in: "0 vCPU", wantErr: "out of range"},
		{in: "0.3 vCPU", wantErr: "not a whole number of CPU units"},
		{in: "256.5", wantErr: "give CPU units"},
		{in: "1 core", wantErr: "give CPU units"},
		{in: "1000m", wantErr: "give CPU units"},
		{in: "vCPU", wantErr: "give CPU units"},
		{in: "1e3", wantErr: "give CPU units"},
		{in: "99999999999", wantErr: "out of range"},
	}
	for _, tt := range tests {
		got, err := ParseCPU(tt.in)
		checkParse(t, "ParseCPU", tt.in, got, err, tt.want, tt.wantErr)
	}
}

// TestParseMemory is the grammar of RegisterTaskDefinition's memory: "an integer using MiB (for
// example, 1024) or as a string using GB (for example, 1GB or 1 GB)".
func TestParseMemory(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "512", want: 512},
		{in: "2048", want: 2048},
		{in: "1GB", want: 1024},
		{in: "1 GB", want: 1024},
		{in: "2 gb", want: 2048},
		{in: "0.5 GB", want: 512},
		{in: ".5GB", want: 512},
		{in: "120 GB", want: 122880},
		{in: "", wantErr: "give MiB"},
		{in: "0", wantErr: "out of range"},
		{in: "512 MiB", wantErr: "give MiB"},
		{in: "512 MB", wantErr: "give MiB"},
		{in: "2Gi", wantErr: "give MiB"},
		{in: "0.0001 GB", wantErr: "not a whole number of MiB"},
		{in: "lots", wantErr: "give MiB"},
	}
	for _, tt := range tests {
		got, err := ParseMemory(tt.in)
		checkParse(t, "ParseMemory", tt.in, got, err, tt.want, tt.wantErr)
	}
}

func checkParse(t *testing.T, fn, in string, got int, err error, want int, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("%s(%q): %v, want %d", fn, in, err, want)
	case wantErr == "" && got != want:
		t.Errorf("%s(%q) = %d, want %d", fn, in, got, want)
	case wantErr != "" && err == nil:
		t.Errorf("%s(%q) = %d, want an error mentioning %q", fn, in, got, wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("%s(%q): %v, want it to mention %q", fn, in, err, wantErr)
	}
}

// TestFargateTable is the table as RegisterTaskDefinition's memory member lists it.
func TestFargateTable(t *testing.T) {
	span := func(from, to, step int) []int {
		var out []int
		for v := from; v <= to; v += step {
			out = append(out, v)
		}
		return out
	}
	want := map[int][]int{
		256:   {512, 1024, 2048},
		512:   {1024, 2048, 3072, 4096},
		1024:  {2048, 3072, 4096, 5120, 6144, 7168, 8192},
		2048:  span(4096, 16384, 1024),
		4096:  span(8192, 30720, 1024),
		8192:  span(16*1024, 60*1024, 4*1024),
		16384: span(32*1024, 120*1024, 8*1024),
	}
	got := map[int][]int{}
	for _, cpu := range FargateCPUs() {
		got[cpu] = FargateMemories(cpu)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Fargate table (-want +got):\n%s", diff)
	}
	if FargateMemories(128) != nil {
		t.Error("FargateMemories(128) is not nil")
	}
	FargateMemories(256)[0] = 1 // callers may change what they get
	if !IsFargate(256, 512) || IsFargate(256, 1536) || IsFargate(300, 512) {
		t.Error("IsFargate disagrees with the table")
	}
}

func TestCheckFargate(t *testing.T) {
	for _, tt := range []struct {
		cpu, mem int
		wantErr  string
	}{
		{256, 512, ""},
		{16384, 122880, ""},
		{256, 4096, "memory: 4096 MiB is not valid with cpu 256 on Fargate; use one of [512 1024 2048]"},
		{128, 512, "cpu: 128 is not a Fargate cpu value; use one of [256 512 1024 2048 4096 8192 16384]"},
	} {
		err := CheckFargate(tt.cpu, tt.mem)
		if got := errString(err); got != tt.wantErr {
			t.Errorf("CheckFargate(%d, %d) = %q, want %q", tt.cpu, tt.mem, got, tt.wantErr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
