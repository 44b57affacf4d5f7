package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: owned by the helper building 'kubectl'; replaced by the real command.
func newKubectlCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "kubectl",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("kubectl: not built yet") },
	}
}
