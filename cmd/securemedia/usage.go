package main

import "strings"

// isUsageError recognises cobra's own argument and flag errors, which it
// returns as plain errors.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag",
		"flag needs an argument", "invalid argument", "accepts ", "requires at least",
		"requires exactly", "if any flags in the group", "required flag(s)"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
