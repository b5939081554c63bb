package config

import "errors"

// Errors Parse returns besides flag.ErrHelp (for -h and --help).
var (
	// ErrConfig: a value is invalid, from whichever source it came.
	ErrConfig = errors.New("invalid configuration")
	// ErrUsage: the command line is malformed (an unknown flag, a flag
	// without its value, a stray argument).
	ErrUsage = errors.New("command line")
	// ErrVersion: --version was given; the caller prints the version.
	ErrVersion = errors.New("version requested")
)
