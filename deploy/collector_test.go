package deploy

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCollectorKafkaConfig has a real collector validate the sample config:
// every component known to it, every field spelled as the release reads
// it, the pipeline wired. validate builds the components without starting
// them, so no broker has to be reachable.
func TestCollectorKafkaConfig(t *testing.T) {
	bin := os.Getenv("LOGSCAN_OTELCOL")
	if bin == "" {
		t.Skip("set LOGSCAN_OTELCOL to a collector with the kafka exporter and the memory_limiter processor: LOGSCAN_OTELCOL=$(test/otelcol/build.sh) go test ./deploy/")
	}
	// Which components the binary has: a clear skip, not a validation
	// error, when it is the test collector without the kafka exporter.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "components").CombinedOutput()
	if err != nil {
		t.Fatalf("%s components: %v\n%s", bin, err, out)
	}
	for _, c := range []string{"kafka", "memory_limiter", "otlp"} {
		if !strings.Contains(string(out), "name: "+c+"\n") {
			t.Skipf("%s has no %s component; add it to test/otelcol/builder.yaml and rebuild with test/otelcol/build.sh", bin, c)
		}
	}
	out, err = exec.CommandContext(ctx, bin, "validate", "--config", "collector/kafka.yaml").CombinedOutput()
	if err != nil {
		t.Errorf("%s validate --config collector/kafka.yaml: %v\n%s", bin, err, out)
	}
}
