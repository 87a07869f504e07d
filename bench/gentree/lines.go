package gentree

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// The literals whose share of lines the generator controls. Each is drawn
// with its own probability for every line that is not a stack-trace
// continuation, so the share holds in every file, not just over the tree
// (gencorpus puts GET only in access logs, where it is on every line).
const (
	// Rare is on 0.01% of lines, as " req=deadbeef-" and 8 hex digits.
	Rare = "deadbeef"
	// Error is the level of 1% of lines.
	Error = "ERROR"
	// Get starts the message of the 30% of lines that are HTTP requests.
	Get = "GET"
	// Year is in the timestamp of every line but stack-trace
	// continuations, about 99.8% of lines.
	Year = "2026"
	// Echec is French for failure: 0.075% of lines hold échec, ÉCHEC or
	// Échec (and 0.025% the unaccented ECHEC, which -i ÉCHEC must not
	// select), so that a non-ASCII literal with -i has something to find.
	Echec = "ÉCHEC"
	// Broken is a whole line (0.2% of lines: the first line of a stack
	// trace) and also the tail of the ERROR line before it, for -x.
	Broken = "java.io.IOException: Broken pipe"
	// Timeout is a word on 1% of lines (mostly WARN) and part of the
	// word timeout_ms on 2% more, for -w.
	Timeout = "timeout"
	// OrderID is a regexp with no literal at all: order ids on 1% of lines.
	OrderID = "[A-Z]{3}[0-9]{4}"
	// Status5xx is a regexp with a required literal: 1% of lines (one
	// request in 30) has a 5xx status.
	Status5xx = "status=5[0-9][0-9]"
)

// Users returns n user ids that the generator writes (user=u0000 to
// u0999 on half of the lines, so each id is on 0.05% of lines): the
// literals of a large alternation.
func Users(n int) []string {
	us := make([]string, n)
	for i := range us {
		us[i] = userID(i * 1000 / n)
	}
	return us
}

func userID(i int) string {
	return "u" + strconv.Itoa(10000 + i)[1:]
}

// Probabilities are in units of 1/100,000 of the lines.
const (
	perFatal     = 10
	perError     = 1000
	perWarn      = 5000
	perDebug     = 10000
	perRequest   = 30000
	perRare      = 10
	perFrench    = 100
	perTimeoutMs = 2000
	perOrder     = 1000
	perUser      = 50000
)

var (
	hosts    = []string{"web-1", "web-2", "web-3", "db-1", "cache-3", "batch-7"}
	services = []string{"api", "auth", "billing", "worker", "scheduler", "resolver"}
	paths    = []string{"/", "/api/v1/items", "/api/v1/users", "/login", "/static/app.js", "/healthz", "/metrics"}
	infos    = []string{
		"cache miss key=item:", "connection opened conn=", "connection closed conn=",
		"flushed records=", "scheduled compaction segment=", "job finished records=",
		"lease renewed term=", "config reloaded version=",
	}
	warns = []string{
		"retrying upstream: connection refused attempt=", "upstream timeout after_ms=",
		"slow query ms=", "upstream returned Error 503, retrying in_ms=",
	}
	errs = []string{
		"query failed: error code ", "handler panic: runtime error: index out of range idx=",
		"upstream timeout, giving up after_ms=", "disk quota exceeded bytes=",
	}
	french = []string{
		"échec de la connexion à la base de données tentative=",
		"ÉCHEC de l'authentification pour l'utilisateur essai=",
		"Échec : délai d'attente dépassé ms=",
		"ECHEC sans accent code=",
	}
	frames = []string{
		"\tat com.example.net.Conn.write(Conn.java:",
		"\tat com.example.server.Handler.serve(Handler.java:",
		"\tat java.base/java.lang.Thread.run(Thread.java:",
	}
)

// lineGen writes log lines, text or JSON, from one random stream.
type lineGen struct {
	r    *rand.Rand
	ts   time.Time
	json bool
}

func newLineGen(seed, stream uint64, json bool) *lineGen {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(stream) * time.Minute)
	return &lineGen{r: rand.New(rand.NewPCG(seed, stream)), ts: start, json: json}
}

func (g *lineGen) roll(per int) bool { return g.r.IntN(100000) < per }

func (g *lineGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// lines appends one log line, and after one ERROR or FATAL line in seven
// the four lines of a Java stack trace, which have no timestamp.
func (g *lineGen) lines(b []byte) []byte {
	g.ts = g.ts.Add(time.Duration(1+g.r.IntN(5000)) * time.Microsecond)
	level, msg, trace := g.message()
	if g.json {
		b = append(b, `{"ts":"`...)
		b = g.ts.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
		b = append(b, `","level":"`...)
		b = append(b, level...)
		b = append(b, `","host":"`...)
		b = append(b, g.pick(hosts)...)
		b = append(b, `","svc":"`...)
		b = append(b, g.pick(services)...)
		b = append(b, `","msg":"`...)
		b = append(b, msg...)
		b = append(b, `"}`...)
	} else {
		b = g.ts.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
		b = append(b, ' ')
		b = append(b, level...)
		b = append(b, ' ')
		b = append(b, g.pick(hosts)...)
		b = append(b, ' ')
		b = append(b, g.pick(services)...)
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(100+g.r.IntN(30000)), 10)
		b = append(b, "]: "...)
		b = append(b, msg...)
	}
	b = append(b, '\n')
	if trace {
		b = append(b, Broken...)
		b = append(b, '\n')
		for _, f := range frames {
			b = append(b, f...)
			b = strconv.AppendInt(b, int64(1+g.r.IntN(999)), 10)
			b = append(b, ")\n"...)
		}
	}
	return b
}

// message returns the level, the message and whether a stack trace follows.
func (g *lineGen) message() (level string, msg []byte, trace bool) {
	lv := g.r.IntN(100000)
	switch {
	case lv < perFatal:
		level = "FATAL"
	case lv < perFatal+perError:
		level = Error
	case lv < perFatal+perError+perWarn:
		level = "WARN"
	case lv < perFatal+perError+perWarn+perDebug:
		level = "DEBUG"
	default:
		level = "INFO"
	}
	var m []byte
	switch {
	case g.roll(perRequest):
		m = g.request(m)
	case g.roll(perFrench * 100000 / (100000 - perRequest)):
		m = append(m, g.pick(french)...)
		m = strconv.AppendInt(m, int64(g.r.IntN(100)), 10)
	case level == Error || level == "FATAL":
		if g.r.IntN(10) < 4 {
			m = append(m, "write failed: "+Broken...)
			trace = g.r.IntN(2) == 0
		} else {
			m = append(m, g.pick(errs)...)
			m = strconv.AppendInt(m, int64(g.r.IntN(10000)), 10)
		}
	case level == "WARN":
		m = append(m, g.pick(warns)...)
		m = strconv.AppendInt(m, int64(g.r.IntN(10000)), 10)
	default:
		m = append(m, g.pick(infos)...)
		m = strconv.AppendInt(m, int64(g.r.IntN(1e6)), 10)
	}
	return level, g.fields(m), trace
}

func (g *lineGen) request(m []byte) []byte {
	status := 200
	switch g.r.IntN(30) {
	case 0:
		status = 500 + g.r.IntN(4)
	case 1, 2:
		status = 404
	}
	m = append(m, Get+" "...)
	m = append(m, g.pick(paths)...)
	m = append(m, "?id="...)
	m = strconv.AppendInt(m, int64(g.r.IntN(1e6)), 10)
	m = append(m, " HTTP/1.1 status="...)
	m = strconv.AppendInt(m, int64(status), 10)
	m = append(m, " bytes="...)
	m = strconv.AppendInt(m, int64(g.r.IntN(1<<16)), 10)
	m = append(m, " latency_ms="...)
	return strconv.AppendInt(m, int64(g.r.IntN(900)), 10)
}

// fields appends the optional key=value fields, each with its own share.
func (g *lineGen) fields(m []byte) []byte {
	if g.roll(perUser) {
		m = append(m, " user="...)
		m = append(m, userID(g.r.IntN(1000))...)
	}
	if g.roll(perTimeoutMs) {
		// timeout inside a word (_ is a word character), which -w timeout
		// must not select.
		m = append(m, " timeout_ms="...)
		m = strconv.AppendInt(m, int64(100*(1+g.r.IntN(50))), 10)
	}
	if g.roll(perOrder) {
		m = append(m, " order="...)
		for range 3 {
			m = append(m, byte('A'+g.r.IntN(26)))
		}
		m = strconv.AppendInt(m, int64(1000+g.r.IntN(9000)), 10)
	}
	if g.roll(perRare) {
		m = append(m, " req="+Rare+"-"...)
		v := g.r.Uint32()
		for shift := 28; shift >= 0; shift -= 4 {
			m = append(m, "0123456789abcdef"[v>>shift&15])
		}
	}
	return m
}
