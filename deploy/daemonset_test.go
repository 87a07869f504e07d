package deploy

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The subset of the DaemonSet manifest that the checks read.
type daemonSet struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		UpdateStrategy struct {
			Type          string `yaml:"type"`
			RollingUpdate *struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
				MaxSurge       any `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"updateStrategy"`
		Template struct {
			Spec struct {
				ServiceAccountName            string          `yaml:"serviceAccountName"`
				AutomountServiceAccountToken  *bool           `yaml:"automountServiceAccountToken"`
				PriorityClassName             string          `yaml:"priorityClassName"`
				TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               securityContext `yaml:"securityContext"`
				Tolerations                   []struct {
					Key      string `yaml:"key"`
					Operator string `yaml:"operator"`
					Effect   string `yaml:"effect"`
				} `yaml:"tolerations"`
				Containers []container `yaml:"containers"`
				Volumes    []struct {
					Name     string `yaml:"name"`
					HostPath *struct {
						Path string `yaml:"path"`
						Type string `yaml:"type"`
					} `yaml:"hostPath"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// manifest is one document of a multi-document YAML file.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	node *yaml.Node
}

func readManifests(t *testing.T, file string) []manifest {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []manifest
	dec := yaml.NewDecoder(f)
	for {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: document %d: %v", file, len(out)+1, err)
		}
		m := manifest{node: &n}
		if err := n.Decode(&m); err != nil {
			t.Fatalf("%s: document %d: %v", file, len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

// servedPaths are the paths internal/httpapi registers, read from its
// source, so that a probe cannot point at an endpoint that does not exist.
func servedPaths(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../internal/httpapi/server.go")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, m := range regexp.MustCompile(`\.Handle(?:Func)?\("GET (/[^" ]*)"`).FindAllStringSubmatch(string(b), -1) {
		paths = append(paths, m[1])
	}
	if len(paths) == 0 {
		t.Fatal("internal/httpapi/server.go: no GET handlers found; update servedPaths")
	}
	return paths
}

// quantity reads a byte size as Kubernetes (256Mi) or logscan (32MiB)
// writes it.
func quantity(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.m, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func TestDaemonSet(t *testing.T) {
	const file = "kubernetes/daemonset.yaml"
	d := readDockerfile(t)
	docs := readManifests(t, file)

	// The documents: the namespace, the service account and the DaemonSet
	// that runs as it, all in one namespace.
	var ds *daemonSet
	kinds := map[string]manifest{}
	for _, m := range docs {
		kinds[m.Kind] = m
		if m.Kind == "DaemonSet" {
			if ds != nil {
				t.Fatalf("%s: more than one DaemonSet", file)
			}
			ds = new(daemonSet)
			if err := m.node.Decode(ds); err != nil {
				t.Fatalf("%s: DaemonSet: %v", file, err)
			}
		}
	}
	if ds == nil {
		t.Fatalf("%s: no DaemonSet among %d documents", file, len(docs))
	}
	if ds.APIVersion != "apps/v1" {
		t.Errorf("DaemonSet apiVersion %q, want apps/v1", ds.APIVersion)
	}
	ns := ds.Metadata.Namespace
	if m, ok := kinds["Namespace"]; !ok || m.Metadata.Name != ns {
		t.Errorf("no Namespace document for the DaemonSet's namespace %q", ns)
	}
	spec := ds.Spec.Template.Spec
	if m, ok := kinds["ServiceAccount"]; !ok || m.Metadata.Name != spec.ServiceAccountName || m.Metadata.Namespace != ns {
		t.Errorf("serviceAccountName %q: no ServiceAccount of that name in namespace %q", spec.ServiceAccountName, ns)
	}
	if a := spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("automountServiceAccountToken must be false: logscan never calls the API server")
	}

	// Scheduling: every node, evicted last, one node at a time.
	everywhere := false
	for _, tol := range spec.Tolerations {
		everywhere = everywhere || (tol.Operator == "Exists" && tol.Key == "" && tol.Effect == "")
	}
	if !everywhere {
		t.Errorf("tolerations %+v: want one {operator: Exists} (no key, no effect) so that every node runs logscan", spec.Tolerations)
	}
	if spec.PriorityClassName != "system-node-critical" {
		t.Errorf("priorityClassName %q, want system-node-critical", spec.PriorityClassName)
	}
	us := ds.Spec.UpdateStrategy
	if us.Type != "RollingUpdate" || us.RollingUpdate == nil || us.RollingUpdate.MaxUnavailable != 1 {
		t.Errorf("updateStrategy %+v, want RollingUpdate with maxUnavailable 1", us)
	} else if s := us.RollingUpdate.MaxSurge; s != nil && s != 0 && s != "0%" {
		t.Errorf("maxSurge %v: two pods on one node would share the state file", s)
	}

	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1 (logscan)", len(spec.Containers))
	}
	ls := spec.Containers[0]
	if sidecar := readPod(t); len(sidecar.Spec.InitContainers) > 0 && ls.Image != sidecar.Spec.InitContainers[0].Image {
		t.Errorf("image %q, want the sidecar's %q", ls.Image, sidecar.Spec.InitContainers[0].Image)
	}
	if len(ls.Command) > 0 || len(ls.Args) > 0 {
		t.Errorf("logscan overrides command/args; configure it through env so the image ENTRYPOINT %v applies", d.entrypoint)
	}

	// Env: the image's, then the container's; a placeholder stands in for
	// the downward API's node name.
	const nodeName = "node-from-downward-api"
	env := map[string]string{}
	for k, v := range d.env {
		env[k] = v
	}
	for _, e := range ls.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = nodeName
		case e.ValueFrom.FieldRef != nil:
			t.Errorf("env %s: valueFrom fieldRef %q is not checked here", e.Name, e.ValueFrom.FieldRef.FieldPath)
		default:
			t.Errorf("env %s: only valueFrom fieldRef spec.nodeName is checked here", e.Name)
		}
	}
	cfg := checkEnv(t, file, env)
	if !cfg.Follow {
		t.Error("follow is off")
	}
	if !strings.HasPrefix(cfg.Events.Format, "cri") {
		t.Errorf("format %q, want cri or cri+...: /var/log/pods holds CRI lines", cfg.Events.Format)
	}
	if !slices.Equal(cfg.Match, []string{""}) || len(cfg.Rules) > 0 || cfg.Invert || len(cfg.Events.Where) > 0 {
		t.Errorf("selection match=%q rules=%d invert=%v where=%q, want every line (LOGSCAN_MATCH empty, nothing else)",
			cfg.Match, len(cfg.Rules), cfg.Invert, cfg.Events.Where)
	}
	if cfg.OTLP.HostName != nodeName {
		t.Errorf("otlp.host_name %q: want LOGSCAN_OTLP_HOST_NAME from the downward API's spec.nodeName (the pod's host name is its name, new at every rollout, and log.record.uid hashes it)", cfg.OTLP.HostName)
	}
	if cfg.Stdout {
		t.Error("output.stdout is on: matches printed to the container log land in /var/log/pods and are read again (LOGSCAN_OUTPUT_STDOUT=false)")
	}
	if u, err := url.Parse(cfg.OTLP.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Errorf("otlp.endpoint %q is not an http(s) URL", cfg.OTLP.Endpoint)
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= cfg.OTLP.ShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %s must exceed otlp.shutdown_timeout %v: SIGKILL would come before the state is saved", show(g), cfg.OTLP.ShutdownTimeout)
	}

	// Resources, and the exporter's queue inside the memory limit.
	r := ls.Resources
	if r.Requests["cpu"] == "" || r.Requests["memory"] == "" || r.Limits["memory"] == "" {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", r)
	}
	if limit, err := quantity(r.Limits["memory"]); err != nil {
		t.Errorf("memory limit %q: %v", r.Limits["memory"], err)
	} else if q := int64(cfg.OTLP.QueueBytes); 2*q > limit {
		t.Errorf("otlp.queue_bytes %d of a %d-byte memory limit: want at most half, for the read buffers and the encoding", q, limit)
	}

	// Ports and probes: the listen port, on every interface, and endpoints
	// that internal/httpapi serves.
	port, portNames := checkPorts(t, "LOGSCAN_HTTP_LISTEN", cfg.HTTPListen, ls, d)
	served := servedPaths(t)
	for _, pr := range []struct {
		name  string
		p     *probe
		paths []string
	}{{"readinessProbe", ls.ReadinessProbe, []string{"/readyz"}}, {"livenessProbe", ls.LivenessProbe, []string{"/healthz", "/livez"}}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("%s: missing httpGet", pr.name)
			continue
		}
		if p := pr.p.HTTPGet.Path; !slices.Contains(pr.paths, p) || !slices.Contains(served, p) {
			t.Errorf("%s path %q, want one of %q served by internal/httpapi (%q)", pr.name, p, pr.paths, served)
		}
		got := -1
		switch v := pr.p.HTTPGet.Port.(type) {
		case int:
			got = v
		case string:
			if n, ok := portNames[v]; ok {
				got = n
			}
		}
		if got != port {
			t.Errorf("%s port %v resolves to %d, want %d", pr.name, pr.p.HTTPGet.Port, got, port)
		}
	}

	// Volumes: the roots are the node's /var/log/pods, read-only; the
	// state file is on the node too, writable, so that it outlives the pod.
	hostPaths := map[string][2]string{} // volume → host path, type
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = [2]string{v.HostPath.Path, v.HostPath.Type}
		}
	}
	type mount struct {
		at, volume string
		readOnly   bool
	}
	var mounts []mount
	for _, m := range ls.VolumeMounts {
		mounts = append(mounts, mount{m.MountPath, m.Name, m.ReadOnly})
	}
	// onHost maps a path in the container to the node's, through a hostPath
	// mount; ok is false if no hostPath mount holds it.
	onHost := func(p string) (hp string, m mount, ok bool) {
		for _, m := range mounts {
			rest, under := strings.CutPrefix(p, m.at)
			if hv, isHost := hostPaths[m.volume]; isHost && under && (rest == "" || strings.HasPrefix(rest, "/")) {
				return hv[0] + rest, m, true
			}
		}
		return "", mount{}, false
	}
	if len(cfg.Roots) == 0 {
		t.Error("no roots configured")
	}
	for _, root := range cfg.Roots {
		hp, m, ok := onHost(root)
		if !ok || hp != "/var/log/pods" || !m.readOnly {
			t.Errorf("root %s is not the node's /var/log/pods on a read-only hostPath mount (maps to %q, readOnly=%v)", root, hp, m.readOnly)
		}
		if path.Base(root) != "pods" {
			t.Errorf("root %s: the k8s.* fields come from .../pods/<ns>_<pod>_<uid>/<container>/<n>.log, so the root must be named pods", root)
		}
	}
	if hp, m, ok := onHost(cfg.StateFile); !ok || m.readOnly || !strings.HasPrefix(hp, "/var/lib/logscan/") {
		t.Errorf("state file %q is not in the node's /var/lib/logscan on a writable hostPath mount (maps to %q)", cfg.StateFile, hp)
	} else if typ := hostPaths[m.volume][1]; typ != "DirectoryOrCreate" {
		t.Errorf("state hostPath type %q, want DirectoryOrCreate (a new node has no /var/lib/logscan yet)", typ)
	}

	// Security: restricted but for the user. UID 0 with no capability
	// reads the root-owned log files by their owner bits and writes the
	// root-owned state directory; the image's USER 65532 can do neither.
	sc := ls.SecurityContext
	isTrue := func(b *bool) bool { return b != nil && *b }
	if !isTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("securityContext %+v: want readOnlyRootFilesystem, allowPrivilegeEscalation false, drop ALL", sc)
	}
	if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities add %q: UID 0 needs none to read root-owned logs (and DAC_READ_SEARCH would open open_by_handle_at on a hostPath)", sc.Capabilities.Add)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = spec.SecurityContext.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != "RuntimeDefault" {
		t.Errorf("seccompProfile %+v, want RuntimeDefault", seccomp)
	}
	if u := sc.RunAsUser; u == nil || *u != 0 || sc.RunAsNonRoot == nil || *sc.RunAsNonRoot {
		t.Errorf("runAsUser %s runAsNonRoot %s: want 0 and false; the image's USER %s cannot read /var/log/pods (root, 0640) nor write the hostPath state directory",
			show(sc.RunAsUser), show(sc.RunAsNonRoot), d.user)
	}

	// The endpoint's port is the one the sample collector listens on.
	if u, err := url.Parse(cfg.OTLP.Endpoint); err == nil {
		if want := collectorHTTPPort(t); u.Port() != want {
			t.Errorf("LOGSCAN_OTLP_ENDPOINT port %q, but deploy/collector/kafka.yaml receives OTLP/HTTP on %q", u.Port(), want)
		}
	}
}

// show prints an optional manifest value.
func show[T any](p *T) string {
	if p == nil {
		return "(unset)"
	}
	return fmt.Sprint(*p)
}

// collectorHTTPPort is the port of the sample collector's OTLP/HTTP
// receiver.
func collectorHTTPPort(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("collector/kafka.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					HTTP struct {
						Endpoint string `yaml:"endpoint"`
					} `yaml:"http"`
				} `yaml:"protocols"`
			} `yaml:"otlp"`
		} `yaml:"receivers"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("collector/kafka.yaml: %v", err)
	}
	ep := c.Receivers.OTLP.Protocols.HTTP.Endpoint
	i := strings.LastIndex(ep, ":")
	if i < 0 {
		t.Fatalf("collector/kafka.yaml: receivers.otlp.protocols.http.endpoint %q has no port", ep)
	}
	return ep[i+1:]
}
