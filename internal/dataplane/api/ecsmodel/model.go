package ecsmodel

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

//go:embed model.json
var modelJSON []byte

// Shape is one shape of the model.
type Shape struct {
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

// Operation names an operation's input and output shapes and the errors it may return.
type Operation struct {
	Input  string   `json:"input,omitempty"`
	Output string   `json:"output,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// Model is the ECS API model.
type Model struct {
	APIVersion   string               `json:"apiVersion"`
	TargetPrefix string               `json:"targetPrefix"`
	Operations   map[string]Operation `json:"operations"`
	Shapes       map[string]*Shape    `json:"shapes"`
}

var (
	loadOnce sync.Once
	loaded   *Model
	loadErr  error
)

// Load returns the embedded model (parsed once).
func Load() (*Model, error) {
	loadOnce.Do(func() {
		m := &Model{}
		if err := json.Unmarshal(modelJSON, m); err != nil {
			loadErr = fmt.Errorf("parsing the embedded ECS model: %w", err)
			return
		}
		loaded = m
	})
	return loaded, loadErr
}

// Shape returns the named shape, or nil.
func (m *Model) Shape(name string) *Shape { return m.Shapes[name] }

// IsError reports whether name is an exception shape of the model.
func (m *Model) IsError(name string) bool {
	s := m.Shapes[name]
	return s != nil && s.Exception
}
