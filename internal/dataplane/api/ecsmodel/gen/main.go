//go:build ignore

// Command gen strips the botocore ECS model down to what request validation and response checks
// need (types, members, required, enums, bounds) and writes it as model.json beside this file.
//
//	go run gen/main.go ../../../../../shared/ecs-model/service-2.json > model.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

type ref struct {
	Shape string `json:"shape"`
}

type botoShape struct {
	Type      string         `json:"type"`
	Members   map[string]ref `json:"members"`
	Required  []string       `json:"required"`
	Enum      []string       `json:"enum"`
	Member    *ref           `json:"member"`
	Key       *ref           `json:"key"`
	Value     *ref           `json:"value"`
	Min       *float64       `json:"min"`
	Max       *float64       `json:"max"`
	Exception bool           `json:"exception"`
}

type botoOp struct {
	Input  *ref  `json:"input"`
	Output *ref  `json:"output"`
	Errors []ref `json:"errors"`
}

type boto struct {
	Metadata   map[string]any       `json:"metadata"`
	Operations map[string]botoOp    `json:"operations"`
	Shapes     map[string]botoShape `json:"shapes"`
}

type outShape struct {
	Type      string            `json:"type"`
	Members   map[string]string `json:"members,omitempty"`
	Required  []string          `json:"required,omitempty"`
	Enum      []string          `json:"enum,omitempty"`
	Member    string            `json:"member,omitempty"`
	Key       string            `json:"key,omitempty"`
	Value     string            `json:"value,omitempty"`
	Min       *float64          `json:"min,omitempty"`
	Max       *float64          `json:"max,omitempty"`
	Exception bool              `json:"exception,omitempty"`
}

type outOp struct {
	Input  string   `json:"input,omitempty"`
	Output string   `json:"output,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

type out struct {
	APIVersion   string              `json:"apiVersion"`
	TargetPrefix string              `json:"targetPrefix"`
	Operations   map[string]outOp    `json:"operations"`
	Shapes       map[string]outShape `json:"shapes"`
}

func name(r *ref) string {
	if r == nil {
		return ""
	}
	return r.Shape
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		return err
	}
	var in boto
	if err := json.Unmarshal(raw, &in); err != nil {
		return err
	}
	o := out{
		APIVersion:   fmt.Sprint(in.Metadata["apiVersion"]),
		TargetPrefix: fmt.Sprint(in.Metadata["targetPrefix"]),
		Operations:   map[string]outOp{},
		Shapes:       map[string]outShape{},
	}
	for n, op := range in.Operations {
		oo := outOp{Input: name(op.Input), Output: name(op.Output)}
		for _, e := range op.Errors {
			oo.Errors = append(oo.Errors, e.Shape)
		}
		o.Operations[n] = oo
	}
	for n, s := range in.Shapes {
		sh := outShape{Type: s.Type, Required: s.Required, Enum: s.Enum, Member: name(s.Member),
			Key: name(s.Key), Value: name(s.Value), Min: s.Min, Max: s.Max, Exception: s.Exception}
		if len(s.Members) > 0 {
			sh.Members = map[string]string{}
			for m, r := range s.Members {
				sh.Members[m] = r.Shape
			}
		}
		o.Shapes[n] = sh
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	return enc.Encode(o)
}
