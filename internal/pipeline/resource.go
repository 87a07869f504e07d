package pipeline

import (
	"path/filepath"
	"strings"

	"github.com/logscan/logscan/internal/output"
)

// resourceOf describes the file at path for an event's resource: its path
// and name, and the Kubernetes names when the path is a kubelet pod log,
// .../pods/<namespace>_<pod>_<uid>/<container>/<restart>.log (rotations
// such as 0.log.20261201-101500.gz included). The names come from the path
// alone, so no API server is needed; they are the OpenTelemetry ones.
func resourceOf(path string, dst []output.Attr) []output.Attr {
	dst = append(dst, output.Attr{Key: "log.file.path", Value: path}, output.Attr{Key: "log.file.name", Value: filepath.Base(path)})
	if !strings.Contains(path, "pods") {
		return dst
	}
	parts := strings.Split(filepath.ToSlash(path), "/")
	n := len(parts)
	if n < 4 || parts[n-4] != "pods" {
		return dst
	}
	pod := strings.Split(parts[n-3], "_")
	// Namespace and pod names are DNS labels and a UID is hex and dashes:
	// none holds '_', so the split is exact.
	if len(pod) != 3 || pod[0] == "" || pod[1] == "" || pod[2] == "" || parts[n-2] == "" {
		return dst
	}
	restart := parts[n-1]
	i := 0
	for i < len(restart) && restart[i] >= '0' && restart[i] <= '9' {
		i++
	}
	dst = append(dst,
		output.Attr{Key: "k8s.namespace.name", Value: pod[0]},
		output.Attr{Key: "k8s.pod.name", Value: pod[1]},
		output.Attr{Key: "k8s.pod.uid", Value: pod[2]},
		output.Attr{Key: "k8s.container.name", Value: parts[n-2]},
	)
	if i > 0 && strings.HasPrefix(restart[i:], ".log") {
		dst = append(dst, output.Attr{Key: "k8s.container.restart_count", Value: restart[:i]})
	}
	return dst
}
