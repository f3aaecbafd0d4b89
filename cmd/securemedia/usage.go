package main

import "strings"

// isUsageError recognises the usage errors cobra returns as plain errors:
// unknown commands, argument counts and flag-group rules. (Flag parsing
// errors are coded by the root command's FlagErrorFunc.)
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most",
		"requires exactly", "received ", "if any flags in the group", "required flag(s)", "none of the others can be"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
