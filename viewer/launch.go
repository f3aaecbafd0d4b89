package viewer

// Starting a viewer: both viewers (the "securemedia view" command and the
// program on the disc) use the loopback address rule and open the system's
// web browser.

import (
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
)

// OpenBrowser starts the system's web browser on url without waiting for
// it.
func OpenBrowser(url string) error {
	var c *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		c = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		c = exec.Command("open", url)
	default:
		c = exec.Command("xdg-open", url)
	}
	if err := c.Start(); err != nil {
		return err
	}
	go func() { _ = c.Wait() }()
	return nil
}

// LoopbackPort accepts 127.0.0.1:PORT (PORT 0: a free one) and nothing
// else: the viewer never listens beyond this computer.
func LoopbackPort(addr string) (int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("--addr %s: %w", addr, err)
	}
	if host != "127.0.0.1" {
		return 0, fmt.Errorf("--addr %s: the viewer listens on 127.0.0.1 only", addr)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("--addr %s: bad port", addr)
	}
	return n, nil
}
