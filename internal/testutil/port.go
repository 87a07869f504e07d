package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// handedOut are the ports FreePort has returned in this process: a server
// that a test stops for a while keeps its port, and another test's FreePort
// must not take it meanwhile.
var (
	handedMu  sync.Mutex
	handedOut = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a server that a test starts later (an Alertmanager, a Collector) or that
// it leaves down for a while on purpose. The port is taken below the
// kernel's ephemeral range, which every listener on port 0 and every
// outgoing connection draw from: a port from that range, released, was
// taken by another test package's server in the meantime, and logscan's
// notifications reached that server instead (a 400, in a CI run). No port
// is returned twice in one process.
func FreePort(t testing.TB) int {
	t.Helper()
	lo := ephemeralLow()
	const from = 10000
	handedMu.Lock()
	defer handedMu.Unlock()
	for range 200 {
		port := from + rand.IntN(lo-from)
		if handedOut[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // in use: try another
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		handedOut[port] = true
		return port
	}
	t.Fatalf("no free port in [%d, %d) after 200 tries", from, lo)
	return 0
}

// ephemeralLow is the first port of Linux's ephemeral range, 32768 when it
// cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	var lo, hi int
	if err == nil {
		_, err = fmt.Sscan(string(b), &lo, &hi)
	}
	if err != nil || lo <= 10001 {
		return 32768
	}
	return lo
}
