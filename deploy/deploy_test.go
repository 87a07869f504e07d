package deploy

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/logscan/logscan/internal/config"
	"go.yaml.in/yaml/v3"
)

// The subset of a Pod manifest that the checks read.
type pod struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		SecurityContext securityContext `yaml:"securityContext"`
		InitContainers  []container     `yaml:"initContainers"`
		Containers      []container     `yaml:"containers"`
		Volumes         []struct {
			Name     string    `yaml:"name"`
			EmptyDir *struct{} `yaml:"emptyDir"`
			Secret   *struct {
				SecretName string `yaml:"secretName"`
			} `yaml:"secret"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

type container struct {
	Name          string `yaml:"name"`
	Image         string `yaml:"image"`
	RestartPolicy string `yaml:"restartPolicy"`
	Command       []string
	Args          []string
	Env           []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe  *probe          `yaml:"readinessProbe"`
	LivenessProbe   *probe          `yaml:"livenessProbe"`
	SecurityContext securityContext `yaml:"securityContext"`
	Resources       struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Capabilities             *struct {
		Drop []string `yaml:"drop"`
		Add  []string `yaml:"add"`
	} `yaml:"capabilities"`
	SeccompProfile *struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

// dockerfile is what the checks need from the Dockerfile's final stage.
type dockerfile struct {
	expose     []int
	entrypoint []string
	user       string
	env        map[string]string
	binary     string // the -o of the go build
	copied     string // the destination of COPY --from=build
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines first, as Docker does.
	text := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(b), " ")
	d := dockerfile{env: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			// Only the final stage's settings reach the image.
			d.expose, d.entrypoint, d.user, d.env = nil, nil, "", map[string]string{}
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Fatalf("Dockerfile: EXPOSE %q: %v", p, err)
				}
				d.expose = append(d.expose, n)
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &d.entrypoint); err != nil {
				t.Fatalf("Dockerfile: ENTRYPOINT must be exec (JSON) form: %v", err)
			}
		case "USER":
			d.user = rest
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %q is not KEY=value", kv)
				}
				d.env[k] = v
			}
		case "RUN":
			if m := regexp.MustCompile(`go build .*-o (\S+)`).FindStringSubmatch(rest); m != nil {
				d.binary = m[1]
				if !strings.Contains(rest, "CGO_ENABLED=0") || !strings.Contains(rest, "-trimpath") {
					t.Errorf("Dockerfile: the build must be CGO_ENABLED=0 with -trimpath: %s", rest)
				}
			}
		case "COPY":
			if f := strings.Fields(rest); len(f) == 3 && strings.HasPrefix(f[0], "--from=") {
				d.copied = f[2]
			}
		}
	}
	return d
}

func readPod(t *testing.T) pod {
	t.Helper()
	b, err := os.ReadFile("kubernetes/sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p pod
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatalf("sidecar.yaml: %v", err)
	}
	return p
}

func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)
	if !slices.Equal(d.entrypoint, []string{d.binary}) || d.copied != d.binary {
		t.Errorf("ENTRYPOINT %q, build output %q and COPY destination %q must agree", d.entrypoint, d.binary, d.copied)
	}
	if d.user != "65532:65532" {
		t.Errorf("USER %q, want the numeric distroless nonroot 65532:65532", d.user)
	}
	_, port := listenPort(t, "Dockerfile LOGSCAN_HTTP_LISTEN", d.env["LOGSCAN_HTTP_LISTEN"])
	if !slices.Equal(d.expose, []int{port}) {
		t.Errorf("EXPOSE %v, want the listen port %d", d.expose, port)
	}
	// The image's defaults alone must be a valid configuration.
	checkEnv(t, "Dockerfile", d.env)
}

func TestSidecar(t *testing.T) {
	d := readDockerfile(t)
	p := readPod(t)
	if p.APIVersion != "v1" || p.Kind != "Pod" {
		t.Fatalf("sidecar.yaml is %s %s, want v1 Pod", p.APIVersion, p.Kind)
	}
	var ls *container
	for i := range p.Spec.InitContainers {
		if p.Spec.InitContainers[i].Name == "logscan" {
			ls = &p.Spec.InitContainers[i]
		}
	}
	if ls == nil {
		t.Fatal("no logscan init container (native sidecar)")
	}
	if ls.RestartPolicy != "Always" {
		t.Errorf("logscan restartPolicy %q, want Always (native sidecar)", ls.RestartPolicy)
	}
	if len(ls.Command) > 0 || len(ls.Args) > 0 {
		t.Errorf("logscan overrides command/args; configure it through env so the image ENTRYPOINT %v applies", d.entrypoint)
	}

	env := map[string]string{}
	for k, v := range d.env {
		env[k] = v
	}
	for _, e := range ls.Env {
		env[e.Name] = e.Value
	}
	cfg := checkEnv(t, "sidecar.yaml", env)

	// Ports: the container port, both probes and EXPOSE are the listen port.
	port, portNames := checkPorts(t, "sidecar LOGSCAN_HTTP_LISTEN", cfg.HTTPListen, *ls, d)
	for _, pr := range []struct {
		name string
		p    *probe
		path string
	}{{"readinessProbe", ls.ReadinessProbe, "/readyz"}, {"livenessProbe", ls.LivenessProbe, "/healthz"}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("%s: missing httpGet", pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			t.Errorf("%s path %q, want %q", pr.name, pr.p.HTTPGet.Path, pr.path)
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

	// Paths: roots are on the read-only log volume, which the app writes;
	// the state file is on a writable volume (the root filesystem is not).
	mounts := map[string]string{} // mountPath → volume
	readOnly := map[string]bool{}
	for _, m := range ls.VolumeMounts {
		mounts[m.MountPath] = m.Name
		readOnly[m.MountPath] = m.ReadOnly
	}
	volumeOf := func(p string) (string, string) {
		for mp, v := range mounts {
			if p == mp || strings.HasPrefix(p, mp+"/") {
				return mp, v
			}
		}
		return "", ""
	}
	if len(cfg.Roots) == 0 {
		t.Error("no roots configured")
	}
	for _, r := range cfg.Roots {
		mp, vol := volumeOf(r)
		if vol == "" || !readOnly[mp] {
			t.Errorf("root %s is not on a read-only volume mount", r)
		}
		app := p.Spec.Containers[0]
		shared := false
		for _, m := range app.VolumeMounts {
			shared = shared || (m.Name == vol && !m.ReadOnly)
		}
		if !shared {
			t.Errorf("root %s: volume %q is not written by the app container %q", r, vol, app.Name)
		}
	}
	if mp, vol := volumeOf(path.Dir(cfg.StateFile)); vol == "" || readOnly[mp] {
		t.Errorf("state file %q is not on a writable volume mount", cfg.StateFile)
	}
	// On 0.0.0.0 /matches is refused without a token: the sidecar reads
	// it from a Secret, mounted read-only.
	if tf := cfg.HTTP.BearerTokenFile; tf == "" && !cfg.HTTP.MatchesPublic {
		t.Error("no http.auth.bearer_token_file: /matches would be refused on 0.0.0.0")
	} else if tf != "" {
		mp, vol := volumeOf(tf)
		secret := false
		for _, v := range p.Spec.Volumes {
			secret = secret || (v.Name == vol && v.Secret != nil && v.Secret.SecretName != "")
		}
		if vol == "" || !readOnly[mp] || !secret {
			t.Errorf("token file %q is not on a read-only mount of a Secret volume", tf)
		}
	}
	if !cfg.Follow || cfg.OutputFormat != "json" || cfg.LogFormat != "json" {
		t.Errorf("sidecar config: follow=%v output=%q log=%q, want follow, json, json", cfg.Follow, cfg.OutputFormat, cfg.LogFormat)
	}

	// Security: restricted, for every container.
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		sc := c.SecurityContext
		isTrue := func(b *bool) bool { return b != nil && *b }
		if !isTrue(sc.RunAsNonRoot) || !isTrue(sc.ReadOnlyRootFilesystem) ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("container %s: securityContext is not restricted: %+v", c.Name, sc)
		}
		if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" || c.Resources.Requests["cpu"] == "" {
			t.Errorf("container %s: missing resource requests/limits", c.Name)
		}
	}
	if u := ls.SecurityContext.RunAsUser; u == nil || strconv.Itoa(*u)+":"+strconv.Itoa(*u) != d.user {
		t.Errorf("logscan runAsUser %v does not match the image USER %q", u, d.user)
	}
}

// checkEnv loads env through the real config package, so an unknown
// LOGSCAN_ variable or a bad value fails here rather than in a pod.
func checkEnv(t *testing.T, where string, env map[string]string) *config.Config {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	slices.Sort(environ)
	cfg, err := config.Load(config.Sources{Environ: environ})
	if err != nil {
		t.Fatalf("%s: env does not load: %v", where, err)
	}
	for _, w := range cfg.Warnings {
		t.Errorf("%s: %s", where, w) // an unknown LOGSCAN_* name is only a warning at run time, but a typo here
	}
	return cfg
}

// checkPorts checks that the listen address is on every interface, that
// the Dockerfile EXPOSEs its port and that every containerPort of c is it;
// it returns the port and the container ports by name, for the probes.
func checkPorts(t *testing.T, where, listen string, c container, d dockerfile) (int, map[string]int) {
	t.Helper()
	host, port := listenPort(t, where, listen)
	if host != "0.0.0.0" && host != "" {
		t.Errorf("listen host %q: probes come from the kubelet, not localhost", host)
	}
	if !slices.Contains(d.expose, port) {
		t.Errorf("listen port %d is not EXPOSEd (%v)", port, d.expose)
	}
	names := map[string]int{}
	for _, cp := range c.Ports {
		names[cp.Name] = cp.ContainerPort
		if cp.ContainerPort != port {
			t.Errorf("containerPort %d, want the listen port %d", cp.ContainerPort, port)
		}
	}
	return port, names
}

func listenPort(t *testing.T, where, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", where, addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s %q: %v", where, addr, err)
	}
	return host, n
}
