package main

import (
	"fmt"
	"io"

	"github.com/p2pcache/p2pcache/server/internal/config"
)

// runConfig is the "config" subcommand; "config example" prints a YAML
// config file with every key at its default, under its help.
func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "example" {
		if err := config.WriteExample(stdout); err != nil {
			fmt.Fprintln(stderr, "p2pcache config example:", err)
			return 1
		}
		return 0
	}
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintln(stdout, configUsage)
		return 0
	}
	fmt.Fprintln(stderr, configUsage)
	return 2
}

const configUsage = `Usage: p2pcache config example

Prints a YAML config file for --config: every key (the flag names) at its
default, each under its help as a comment.`
