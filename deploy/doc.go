// Package deploy holds no code: it is where the deployment files live
// (kubernetes/sidecar.yaml and kubernetes/daemonset.yaml, the sample
// collector config collector/kafka.yaml; the Dockerfile and systemd unit
// sit at the repository root and in systemd/), and its tests check that
// they agree with each other and with the config keys, flags and HTTP
// endpoints, since Docker and a cluster are not available in CI to catch a
// mismatch. With LOGSCAN_OTELCOL naming a collector that has the kafka
// exporter, a real collector validates the sample config too.
package deploy
