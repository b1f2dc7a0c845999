// Package systemdunit reads what skiff's tests need of a systemd unit file: its
// EnvironmentFile and its ExecStart command line with ${VAR} expanded the way systemd does
// (a whole word "${VAR}" or inside a word), so that a test runs exactly the program and
// flags a unit in deploy/systemd would run.
package systemdunit

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Unit is a parsed unit file's [Service] section, as far as skiff's units use it.
type Unit struct {
	// ExecStart is the command line, split into words (no quoting is used in skiff's units).
	ExecStart []string
	// EnvironmentFile is the file of VAR=value lines the command's ${VAR} come from ("" for
	// none; a leading "-" meaning "optional" is dropped).
	EnvironmentFile string
}

// Read parses the unit file at path.
func Read(path string) (*Unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := &Unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			continue
		}
		if section != "Service" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		switch key {
		case "ExecStart":
			u.ExecStart = strings.Fields(value)
		case "EnvironmentFile":
			u.EnvironmentFile = strings.TrimPrefix(value, "-")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(u.ExecStart) == 0 {
		return nil, fmt.Errorf("%s: no ExecStart in [Service]", path)
	}
	return u, nil
}

// ReadEnv reads a file of VAR=value lines (comments and blank lines skipped).
func ReadEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		env[k] = strings.Trim(v, `"`)
	}
	return env, nil
}

// Command is ExecStart with every ${VAR} replaced from env; a variable env lacks is an error
// (systemd would pass an empty word, which no skiff flag wants). A whole word $VAR (no
// braces) is, as in systemd, the value split at white space: zero or more words, none when
// the variable is unset or empty — the way a unit takes optional flags from its
// EnvironmentFile.
func (u *Unit) Command(env map[string]string) ([]string, error) {
	var out []string
	for _, w := range u.ExecStart {
		if name, ok := strings.CutPrefix(w, "$"); ok && name != "" && !strings.ContainsAny(name, "{}$") {
			out = append(out, strings.Fields(env[name])...)
			continue
		}
		var missing string
		expanded := os.Expand(w, func(k string) string {
			v, ok := env[k]
			if !ok {
				missing = k
			}
			return v
		})
		if missing != "" {
			return nil, fmt.Errorf("ExecStart uses ${%s}, which the environment file does not set", missing)
		}
		out = append(out, expanded)
	}
	return out, nil
}
