package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: owned by the helper building 'controller'; replaced by the real command.
func newControllerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "controller",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("controller: not built yet") },
	}
}
