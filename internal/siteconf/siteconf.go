// Package siteconf reads the site's configuration file: the settings an
// imaging centre sets once (medium, recipients such as its escrow
// certificate, label text, the audit repository) and every command then
// takes as defaults.
//
// The format is plain text, one setting a line, as a film librarian can
// edit it:
//
//	# comments and blank lines are ignored
//	media = dvd
//	recipient = /etc/securemedia/escrow.pem
//	recipient = /etc/securemedia/second.pem   # a key may repeat
//	audit = syslog+tls://audit.example.org:6514
//
// Keys are the long flag names of the commands. Values are taken as
// written, trimmed; there is no quoting and no expansion. The file holds no
// secrets: a password file is named, never a password.
package siteconf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Bounds on a configuration file, which a hostile or broken one must not
// exceed: a real one is a few dozen lines.
const (
	maxLineBytes = 4096
	maxSettings  = 1024
)

// Setting is one "key = value" line.
type Setting struct {
	Key, Value string
	Line       int
}

// Config is a configuration file's settings, in file order.
type Config struct {
	Path     string
	Settings []Setting
}

// Read reads the configuration file at path.
func Read(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("configuration file %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Parse reads settings from r.
func Parse(r io.Reader) (*Config, error) {
	c := &Config{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLineBytes)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return nil, fmt.Errorf("line %d: expected \"key = value\"", n)
		}
		if len(c.Settings) == maxSettings {
			return nil, fmt.Errorf("more than %d settings", maxSettings)
		}
		c.Settings = append(c.Settings, Setting{Key: strings.ToLower(key), Value: value, Line: n})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a line longer than %d bytes", maxLineBytes)
		}
		return nil, err
	}
	return c, nil
}

// Get is the last value given for key, and whether it was given.
func (c *Config) Get(key string) (string, bool) {
	if c == nil {
		return "", false
	}
	for i := len(c.Settings) - 1; i >= 0; i-- {
		if c.Settings[i].Key == key {
			return c.Settings[i].Value, true
		}
	}
	return "", false
}

// All is every value given for key, in file order (for repeatable
// settings such as recipient).
func (c *Config) All(key string) []string {
	if c == nil {
		return nil
	}
	var vals []string
	for _, s := range c.Settings {
		if s.Key == key {
			vals = append(vals, s.Value)
		}
	}
	return vals
}

// Unknown is an error naming the first setting whose key is not in known,
// so that a misspelt key is refused rather than silently ignored; nil if
// all are known.
func (c *Config) Unknown(known ...string) error {
	if c == nil {
		return nil
	}
	for _, s := range c.Settings {
		if !slices.Contains(known, s.Key) {
			return fmt.Errorf("configuration file %s, line %d: unknown setting %q", c.Path, s.Line, s.Key)
		}
	}
	return nil
}
