package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: owned by the helper building 'logs'; replaced by the real command.
func newLogsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "logs",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("logs: not built yet") },
	}
}
