// Package units formats sizes for people, in one unit everywhere: binary
// multiples (KiB, MiB, GiB), as file managers on Linux and macOS's
// terminal tools show them, so that a figure in an error matches the one
// in a summary.
package units

import "fmt"

// Bytes formats n bytes: "512 B", "1.5 KiB", "700.0 MiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
