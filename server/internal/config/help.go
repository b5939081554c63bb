package config

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// PrintFlags writes the flags section of --help: every setting with its
// type, its default (when not empty) and its help, then --version and
// --help, in the order the settings are defined.
func PrintFlags(w io.Writer) {
	def := Default()
	fmt.Fprintf(w, "Flags: each is also the environment variable %s_<NAME> (--cache-size is\n%s) and a key of the --config file (cache-size: 1GiB). A flag wins\nover the environment, which wins over the file.\n",
		envPrefix, envName("cache-size"))
	for _, s := range def.settings() {
		line := "  --" + s.name + " " + s.v.kind()
		if d := s.v.String(); d != "" {
			line += " (default " + d + ")"
		}
		fmt.Fprintf(w, "%s\n        %s [$%s]\n", line, s.help, envName(s.name))
	}
	fmt.Fprintf(w, "  --version\n        print the version, commit and Go version, and exit\n")
	fmt.Fprintf(w, "  -h, --help\n        print this help, and exit\n")
}

// WriteExample writes a YAML config file that sets every setting to its
// default, each under its help as a comment: what 'p2pcache config example'
// prints. Parse reads it back as the defaults.
func WriteExample(w io.Writer) error {
	def := Default()
	var b strings.Builder
	fmt.Fprintf(&b, "# p2pcache configuration: p2pcache --config FILE (or %s=FILE).\n", envName(configFlag))
	b.WriteString("# Keys are the flag names without dashes; each is set here to its default.\n")
	b.WriteString("# A flag on the command line wins over the environment variable\n")
	fmt.Fprintf(&b, "# (%s_<NAME>), which wins over this file. Unknown keys are refused.\n", envPrefix)
	for _, s := range def.settings() {
		if s.name == configFlag {
			continue
		}
		b.WriteString("\n")
		help := strings.ToUpper(s.help[:1]) + s.help[1:] + "."
		for _, l := range wrap(help, 76) {
			b.WriteString("# " + l + "\n")
		}
		fmt.Fprintf(&b, "# Type %s; environment variable %s.\n", s.v.kind(), envName(s.name))
		fmt.Fprintf(&b, "%s: %s\n", s.name, yamlScalar(s.v))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// plainYAML matches text safe to write as a plain YAML scalar that reads
// back as that text (Set takes the text, whatever type YAML would give it).
var plainYAML = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/+-]*$`)

// yamlScalar writes a value for the example file: a list as a flow
// sequence, text as a plain scalar when it can be, else quoted.
func yamlScalar(v value) string {
	quote := func(s string) string {
		if plainYAML.MatchString(s) {
			return s
		}
		return strconv.Quote(s) // a JSON string is a YAML double-quoted scalar
	}
	s := v.String()
	if _, ok := v.(list); ok {
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it != "" {
				items = append(items, quote(it))
			}
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return quote(s)
}

// wrap splits text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
