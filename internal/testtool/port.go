package testtool

import (
	"net"
	"testing"
)

// FreePort is a port of 127.0.0.1 free a moment ago, for network "tcp" or
// "udp": for a server the test starts (another program may take it
// meanwhile, which the server's start then says).
func FreePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
