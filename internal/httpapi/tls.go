package httpapi

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"

	"github.com/rs/zerolog"
)

// certFile is the server certificate, re-loaded from its PEM files at the
// first handshake after either changed. Checking on the handshake needs no
// goroutine and no timer to own and stop: two stats per new connection.
//
// A pair that does not load (a certificate renewed before its key, a
// half-written file) is logged and the loaded certificate stays in use, so
// a rotation in two steps never takes HTTPS down; the pair is tried again
// once either file changes again.
type certFile struct {
	certPath, keyPath string
	log               zerolog.Logger

	mu                sync.Mutex
	cert              *tls.Certificate
	certStat, keyStat os.FileInfo // the versions last tried, loaded or not
}

// newCertFile loads the pair once, so that a bad certificate stops the
// start rather than every handshake.
func newCertFile(certPath, keyPath string, log zerolog.Logger) (*certFile, error) {
	c := &certFile{certPath: certPath, keyPath: keyPath, log: log}
	cs, ks, err := c.stat()
	if err == nil {
		err = c.load(cs, ks)
	}
	if err != nil {
		return nil, fmt.Errorf("http.tls.cert_file %s, http.tls.key_file %s: %w", certPath, keyPath, err)
	}
	return c, nil
}

func (c *certFile) stat() (cert, key os.FileInfo, err error) {
	if cert, err = os.Stat(c.certPath); err != nil {
		return nil, nil, err
	}
	if key, err = os.Stat(c.keyPath); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// load reads the pair; the stats come first, so the files read are at
// least as new as the stats kept, and a write in between is seen as a
// change at the next handshake.
func (c *certFile) load(certStat, keyStat os.FileInfo) error {
	c.certStat, c.keyStat = certStat, keyStat
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return err
	}
	c.cert = &cert
	ev := c.log.Info().Str("cert_file", c.certPath)
	if cert.Leaf != nil {
		ev = ev.Str("subject", cert.Leaf.Subject.String()).Time("not_after", cert.Leaf.NotAfter)
	}
	ev.Msg("httpapi: TLS certificate loaded")
	return nil
}

// getCertificate is the tls.Config.GetCertificate hook.
func (c *certFile) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, ks, err := c.stat()
	switch {
	case err != nil:
		// Mid-rename, or removed: serve what is loaded.
		c.log.Debug().Err(err).Msg("httpapi: cannot stat the TLS files; serving the loaded certificate")
	case !sameVersion(cs, c.certStat) || !sameVersion(ks, c.keyStat):
		if err := c.load(cs, ks); err != nil {
			c.log.Error().Err(err).Str("setting", "http.tls.cert_file").Str("cert_file", c.certPath).Str("key_file", c.keyPath).
				Msg("httpapi: cannot load the changed TLS certificate; serving the previous one")
		}
	}
	return c.cert, nil
}
