package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/internal/siteconf"
)

// defaultSiteConfig is where a site keeps its configuration file (see
// internal/siteconf), read when present unless --config or
// $SECUREMEDIA_CONFIG names another.
const defaultSiteConfig = "/etc/securemedia/securemedia.conf"

// addConfigFlag gives every command --config FILE. A file that cannot be
// read, or is not "key = value" lines, stops any command before it starts,
// so that a site's mistake is never silently ignored.
func addConfigFlag(root *cobra.Command, e *env) {
	root.PersistentFlags().StringVar(&e.configPath, "config", "", "the site configuration `FILE` (default $SECUREMEDIA_CONFIG, else "+defaultSiteConfig+" if present)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		_, err := e.siteConfig()
		return err
	}
}

// siteConfig is the site configuration file's settings, read once; nil
// (and no error) when no file is named and the default one is absent. A
// file named by --config or $SECUREMEDIA_CONFIG must exist.
func (e *env) siteConfig() (*siteconf.Config, error) {
	if e.config != nil || e.configErr != nil {
		return e.config, e.configErr
	}
	path, named := e.configPath, true
	if path == "" {
		path = os.Getenv("SECUREMEDIA_CONFIG")
	}
	if path == "" {
		path, named = defaultSiteConfig, false
	}
	c, err := siteconf.Read(path)
	if err != nil && !named && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		err = withCode(exitUsage, err)
	}
	e.config, e.configErr = c, err
	return c, err
}
