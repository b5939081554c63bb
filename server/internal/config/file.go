package config

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"go.yaml.in/yaml/v3"
)

// fileError is a problem in the config file, at a line (0: unknown).
type fileError struct {
	file string
	line int
	err  error
}

func (e *fileError) Error() string {
	if e.line == 0 {
		return fmt.Sprintf("%s: %v", e.file, e.err)
	}
	return fmt.Sprintf("%s:%d: %v", e.file, e.line, e.err)
}

func (e *fileError) Unwrap() error { return e.err }

// fileParser reads a YAML config file for ff: one mapping whose keys are
// setting names and whose values are what the flag would take (a list may
// also be a YAML sequence). Every key is checked, with its line, even one
// that a flag or the environment overrides: an unknown key, a repeated
// key, a value that is not a scalar (or a sequence, for a list) and a value
// its setting refuses are errors. ff's set applies the values that no flag
// or environment variable set.
func fileParser(file *string, rec *recorder) ff.ConfigFileParser {
	return func(r io.Reader, set func(name, value string) error) error {
		rec.fromEnv = false // what fails now comes from the file
		fail := func(line int, err error) error { return &fileError{file: *file, line: line, err: err} }
		dec := yaml.NewDecoder(r)
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return nil // empty
		} else if err != nil {
			return fail(0, err)
		}
		if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
			return fail(0, errors.New("want one YAML document"))
		}
		if len(doc.Content) == 0 {
			return nil
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			return nil // comments only
		}
		if root.Kind != yaml.MappingNode {
			return fail(root.Line, errors.New("want key: value lines"))
		}
		scratch := Default()
		check := map[string]value{}
		for _, s := range scratch.settings() {
			check[s.name] = s.v
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return fail(k.Line, errors.New("want a setting name as the key"))
			}
			name := k.Value
			if prev, ok := seen[name]; ok {
				return fail(k.Line, fmt.Errorf("key %q repeats line %d", name, prev))
			}
			seen[name] = k.Line
			val, ok := check[name]
			if !ok || name == configFlag {
				return fail(k.Line, fmt.Errorf("unknown key %q (the keys are the flag names, without dashes: see p2pcache --help)", name))
			}
			text, err := scalarText(v, val)
			if err != nil {
				return fail(v.Line, fmt.Errorf("%s: %w", name, err))
			}
			if err := val.Set(text); err != nil {
				return fail(v.Line, err)
			}
			if err := set(name, text); err != nil {
				return fail(v.Line, err)
			}
		}
		return nil
	}
}

// scalarText is a value node's text as the setting's Set takes it: a
// scalar's text ("" for null), or a sequence of scalars joined by commas
// for a list.
func scalarText(n *yaml.Node, v value) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "", nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		if _, ok := v.(list); !ok {
			return "", fmt.Errorf("want one %s value, not a list", v.kind())
		}
		items := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return "", errors.New("want a list of plain values")
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), nil
	}
	return "", fmt.Errorf("want a plain %s value", v.kind())
}
