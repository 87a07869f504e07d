package alerting_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookBody is logscan's webhook payload.
type hookBody struct {
	Version        string            `json:"version"`
	Status         string            `json:"status"`
	Rule           string            `json:"rule"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	StartsAt       time.Time         `json:"startsAt"`
	EndsAt         *time.Time        `json:"endsAt"`
	Count          int               `json:"count"`
	File           string            `json:"file"`
	Sample         string            `json:"sample"`
	IdempotencyKey string            `json:"idempotency_key"`
}

// hookReq is one request to the webhook server, and its answer.
type hookReq struct {
	at        time.Time
	key       string // the Idempotency-Key header
	body      hookBody
	fields    []string // the body's keys
	sig       string   // "ok", "body-only" (an HMAC of the body alone), "missing" or "bad"
	timestamp string
	answer    int
	err       string // the request was no payload
}

// hookServer is the test's webhook: it verifies, records and answers
// every request with what respond says (attempt counts the requests of
// the key so far, 1 for the first).
type hookServer struct {
	srv     *httptest.Server
	secret  []byte
	mu      sync.Mutex
	reqs    []hookReq
	respond func(b hookBody, attempt int) int
}

func newHookServer(t *testing.T, secret []byte) *hookServer {
	h := &hookServer{secret: secret, respond: func(hookBody, int) int { return http.StatusOK }}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookServer) url() string { return h.srv.URL + "/hook" }

// setRespond replaces the answering function.
func (h *hookServer) setRespond(f func(b hookBody, attempt int) int) {
	h.mu.Lock()
	h.respond = f
	h.mu.Unlock()
}

func (h *hookServer) serve(w http.ResponseWriter, req *http.Request) {
	raw, err := io.ReadAll(req.Body)
	rq := hookReq{at: time.Now(), key: req.Header.Get("Idempotency-Key"), timestamp: req.Header.Get("X-Logscan-Timestamp")}
	if err == nil {
		err = json.Unmarshal(raw, &rq.body)
	}
	var top map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(raw, &top)
		for k := range top {
			rq.fields = append(rq.fields, k)
		}
	}
	if err == nil && (req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json") {
		err = fmt.Errorf("%s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	}
	rq.sig = verify(h.secret, rq.timestamp, req.Header.Get("X-Logscan-Signature"), raw)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		rq.err = fmt.Sprintf("%v: %.300s", err, raw)
		rq.answer = http.StatusBadRequest
	} else {
		attempt := 1
		for _, o := range h.reqs {
			if o.key == rq.key {
				attempt++
			}
		}
		rq.answer = h.respond(rq.body, attempt)
	}
	h.reqs = append(h.reqs, rq)
	w.WriteHeader(rq.answer)
}

// verify checks X-Logscan-Signature: "sha256=" + hex HMAC-SHA256(secret,
// timestamp "." body), as internal/alert signs; "body-only" names a
// signature of the body alone (as config.example.yaml says).
func verify(secret []byte, timestamp, sig string, body []byte) string {
	if len(secret) == 0 {
		if sig == "" {
			return "none"
		}
		return "unexpected"
	}
	if sig == "" {
		return "missing"
	}
	mac := func(parts ...[]byte) string {
		m := hmac.New(sha256.New, secret)
		for _, p := range parts {
			m.Write(p)
		}
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	switch {
	case hmac.Equal([]byte(sig), []byte(mac([]byte(timestamp), []byte("."), body))):
		return "ok"
	case hmac.Equal([]byte(sig), []byte(mac(body))):
		return "body-only"
	}
	return "bad"
}

func (h *hookServer) requests() []hookReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReq(nil), h.reqs...)
}

// keys returns the distinct idempotency keys of the requests with status
// for route, in their order.
func (h *hookServer) keys(route, status string) []string {
	var keys []string
	for _, rq := range h.requests() {
		if rq.body.Status == status && rq.body.Labels["route"] == route && !slices.Contains(keys, rq.key) {
			keys = append(keys, rq.key)
		}
	}
	return keys
}

// attempts and delivered count the requests of key, and those answered 2xx.
func (h *hookServer) attempts(key string) (attempts, delivered int) {
	for _, rq := range h.requests() {
		if rq.key == key {
			attempts++
			if rq.answer >= 200 && rq.answer < 300 {
				delivered++
			}
		}
	}
	return attempts, delivered
}

// deliveredFor counts the 2xx-answered requests with status for route.
func (h *hookServer) deliveredFor(route, status string) int {
	n := 0
	for _, rq := range h.requests() {
		if rq.body.Status == status && rq.body.Labels["route"] == route && rq.answer >= 200 && rq.answer < 300 {
			n++
		}
	}
	return n
}

func (h *hookServer) String() string {
	var b strings.Builder
	for _, rq := range h.requests() {
		fmt.Fprintf(&b, "%s %s route=%s key=%.12s sig=%s answer=%d", rq.at.Format("15:04:05.000"), rq.body.Status,
			rq.body.Labels["route"], rq.key, rq.sig, rq.answer)
		if rq.err != "" {
			fmt.Fprintf(&b, " error=%s", rq.err)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// checkRequests checks what every request must hold: a payload, the
// Idempotency-Key header equal to the body's idempotency_key, a valid
// signature (when there is a secret) with a timestamp within a minute.
func (h *hookServer) checkRequests(t *testing.T) {
	t.Helper()
	for _, rq := range h.requests() {
		switch {
		case rq.err != "":
			t.Errorf("webhook request is no payload: %s", rq.err)
			continue
		case rq.key == "" || rq.key != rq.body.IdempotencyKey:
			t.Errorf("webhook request: Idempotency-Key %q, body idempotency_key %q: want equal, not empty", rq.key, rq.body.IdempotencyKey)
		}
		want := "none"
		if len(h.secret) > 0 {
			want = "ok"
		}
		if rq.sig != want {
			t.Errorf("webhook request %.12s: signature %s, want %s (HMAC-SHA256 of X-Logscan-Timestamp \".\" body)", rq.key, rq.sig, want)
		}
		if len(h.secret) > 0 {
			ts, err := strconv.ParseInt(rq.timestamp, 10, 64)
			if err != nil || rq.at.Sub(time.Unix(ts, 0)).Abs() > time.Minute {
				t.Errorf("webhook request %.12s: X-Logscan-Timestamp %q is not the unix time of the attempt (%s)", rq.key, rq.timestamp, rq.at)
			}
		}
	}
}
