// Package deploy holds no code: it is where the deployment files live
// (kubernetes/sidecar.yaml; the Dockerfile and systemd unit sit at the
// repository root and in systemd/), and its test checks that they agree with
// each other and with the config keys and flags, since Docker and a cluster
// are not available in CI to catch a mismatch.
package deploy
