package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/registry"
	"go.yaml.in/yaml/v3"
)

var examplesDir = filepath.Join("..", "..", "examples")

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML document", path)
	}
	return docs
}

// dig follows keys (strings for maps, ints for lists) through decoded YAML or JSON.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

// imageName is an image reference without registry, path and tag: "tracegate" for
// "ghcr.io/org/tracegate:1.2".
func imageName(ref string) string {
	ref = ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.IndexAny(ref, ":@"); i >= 0 {
		ref = ref[:i]
	}
	return ref
}

func TestExamplesParse(t *testing.T) {
	var n int
	err := filepath.WalkDir(examplesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			yamlDocs(t, path)
		case ".json":
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		default:
			t.Errorf("%s: unexpected file type in examples", path)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Fatalf("only %d example files", n)
	}
}

func TestComposeFiles(t *testing.T) {
	for _, name := range []string{"docker-compose.yaml", "docker-compose.tempo.yaml"} {
		t.Run(name, func(t *testing.T) {
			doc := yamlDocs(t, filepath.Join(examplesDir, name))[0]
			services, _ := doc["services"].(map[string]any)
			tg, _ := services["tracegate"].(map[string]any)
			if tg == nil || imageName(str(tg["image"])) != "tracegate" {
				t.Fatalf("no tracegate service with the tracegate image: %v", tg)
			}
			if ctx := str(dig(tg, "build", "context")); ctx != "" {
				if _, err := os.Stat(filepath.Join(examplesDir, ctx, "Dockerfile")); err != nil {
					t.Errorf("build context %q has no Dockerfile: %v", ctx, err)
				}
			}
			ports, _ := tg["ports"].([]any)
			if len(ports) != 1 || !strings.HasSuffix(str(ports[0]), ":8080:8080") {
				t.Errorf("tracegate ports %v: want 8080 published", ports)
			}
			env, _ := tg["environment"].(map[string]any)
			if str(env["TRACEGATE_LISTEN"]) != "0.0.0.0:8080" {
				t.Errorf("TRACEGATE_LISTEN %v", env["TRACEGATE_LISTEN"])
			}
			// The image's own config must accept this environment and listen on 8080.
			lookup := func(k string) (string, bool) { v, ok := env[k].(string); return v, ok }
			raw, err := os.ReadFile(filepath.Join("..", "..", "config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(raw, lookup)
			if err != nil {
				t.Fatalf("config.yaml with the compose environment: %v", err)
			}
			if cfg.Server.Listen != "0.0.0.0:8080" {
				t.Errorf("listen %q", cfg.Server.Listen)
			}
			// Spans go to a collector defined in the same file.
			u, err := url.Parse(cfg.Spans.Endpoint)
			if err != nil || services[u.Hostname()] == nil || u.Port() != "4318" {
				t.Errorf("span endpoint %q is not an OTLP/HTTP service of this file", cfg.Spans.Endpoint)
			}
			for svc, v := range services {
				if _, ok := dig(v, "image").(string); !ok {
					t.Errorf("service %s has no pinned image", svc)
				} else if strings.HasSuffix(str(dig(v, "image")), ":latest") && svc != "tracegate" {
					t.Errorf("service %s uses :latest", svc)
				}
				// Mounted files exist.
				vols, _ := dig(v, "volumes").([]any)
				for _, vol := range vols {
					src := strings.SplitN(str(vol), ":", 2)[0]
					if strings.HasPrefix(src, ".") {
						if _, err := os.Stat(filepath.Join(examplesDir, src)); err != nil {
							t.Errorf("service %s mounts %s: %v", svc, src, err)
						}
					}
				}
			}
		})
	}
	doc := yamlDocs(t, filepath.Join(examplesDir, "docker-compose.yaml"))[0]
	if img := str(dig(doc, "services", "jaeger", "image")); img != "jaegertracing/jaeger:2.13.0" {
		t.Errorf("jaeger image %q", img)
	}
	prom := yamlDocs(t, filepath.Join(examplesDir, "prometheus", "prometheus.yml"))[0]
	if str(dig(prom, "scrape_configs", 0, "metrics_path")) != "/metrics" ||
		str(dig(prom, "scrape_configs", 0, "static_configs", 0, "targets", 0)) != "tracegate:8080" {
		t.Errorf("prometheus does not scrape tracegate:8080/metrics: %v", prom)
	}
}

// k8sObjects indexes the manifest's objects by kind.
func k8sObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range yamlDocs(t, filepath.Join(examplesDir, "kubernetes", "tracegate-sidecar.yaml")) {
		out[str(doc["kind"])] = doc
	}
	return out
}

func TestKubernetesSidecar(t *testing.T) {
	objs := k8sObjects(t)
	dep, cm := objs["Deployment"], objs["ConfigMap"]
	if dep == nil || cm == nil {
		t.Fatalf("want a Deployment and a ConfigMap, have %v", objs)
	}
	containers, _ := dig(dep, "spec", "template", "spec", "containers").([]any)
	if len(containers) != 2 {
		t.Fatalf("want app + tracegate containers, have %d", len(containers))
	}
	var tg map[string]any
	for _, c := range containers {
		if imageName(str(dig(c, "image"))) == "tracegate" {
			tg = c.(map[string]any)
		}
	}
	if tg == nil {
		t.Fatal("no container runs the tracegate image")
	}
	if p := dig(tg, "ports", 0, "containerPort"); p != 8080 {
		t.Errorf("containerPort %v", p)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if str(dig(tg, probe, "httpGet", "path")) != path || dig(tg, probe, "httpGet", "port") != 8080 {
			t.Errorf("%s: %v", probe, dig(tg, probe))
		}
	}

	// The environment the config is expanded with: values, and a stand-in for each secret.
	env := map[string]string{}
	envList, _ := tg["env"].([]any)
	for _, e := range envList {
		name := str(dig(e, "name"))
		if v, ok := dig(e, "value").(string); ok {
			env[name] = v
		} else if dig(e, "valueFrom", "secretKeyRef") != nil {
			env[name] = "stand-in-for-" + strings.ToLower(name)
		}
	}
	if env["TRACEGATE_LISTEN"] != "0.0.0.0:8080" {
		t.Errorf("TRACEGATE_LISTEN %q", env["TRACEGATE_LISTEN"])
	}

	// Lay the ConfigMap out as the volume mounts it, then load it as tracegate would.
	args, _ := tg["args"].([]any)
	mount := str(dig(tg, "volumeMounts", 0, "mountPath"))
	if len(args) != 2 || str(args[0]) != "-config" || filepath.Dir(str(args[1])) != mount {
		t.Fatalf("args %v do not load the config from the mount %s", args, mount)
	}
	var items []any
	for _, v := range dig(dep, "spec", "template", "spec", "volumes").([]any) {
		if str(dig(v, "configMap", "name")) == str(dig(cm, "metadata", "name")) {
			items, _ = dig(v, "configMap", "items").([]any)
		}
	}
	dir := t.TempDir()
	for _, it := range items {
		data := str(dig(cm, "data", str(dig(it, "key"))))
		if data == "" {
			t.Fatalf("ConfigMap has no key %v", dig(it, "key"))
		}
		path := filepath.Join(dir, filepath.FromSlash(str(dig(it, "path"))))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	configFile := filepath.Join(dir, filepath.Base(str(args[1])))
	raw, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatalf("the config file is not among the mounted items: %v", err)
	}
	cfg, err := config.Parse(raw, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the ConfigMap's config.yaml: %v", err)
	}
	if cfg.Server.Listen != "0.0.0.0:8080" || len(cfg.Server.AuthKeys) != 1 || cfg.Server.ProtectOps {
		t.Errorf("server %+v: want 0.0.0.0:8080, one auth key, open probes", cfg.Server)
	}
	if grace := cfg.Server.ShutdownGrace.D().Seconds(); float64(dig(dep, "spec", "template", "spec", "terminationGracePeriodSeconds").(int)) <= grace {
		t.Errorf("terminationGracePeriodSeconds does not cover shutdown_grace %vs", grace)
	}
	// The prompts it points at are mounted and load.
	if cfg.Registry.Sources[0].Type != "file" {
		t.Fatalf("first registry source %q: want the mounted prompt files", cfg.Registry.Sources[0].Type)
	}
	promptDir := filepath.Join(dir, cfg.Registry.Sources[0].Path)
	if err := readableDir(promptDir); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(registry.NewFileSource(promptDir, nil))
	if _, err := reg.Resolve(context.Background(), "welcome-email", 0, ""); err != nil {
		t.Errorf("the mounted prompt does not load: %v", err)
	}
}

var (
	promQLIdent = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promQLWords = map[string]bool{"sum": true, "rate": true, "increase": true, "histogram_quantile": true,
		"avg": true, "max": true, "min": true, "count": true}
)

func TestDashboardUsesRealMetricNames(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(examplesDir, "grafana", "tracegate-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}

	// Traffic of every kind, so that labelled series exist.
	up := newFakeOpenAI(t, false)
	g := startGateway(t, baseConfig, up)
	g.run("demo", `{"variables":{"name":"Ada"}}`, nil)
	g.run("greet", `{"variables":{"name":"Ada"}}`, nil)
	g.run("nope", `{}`, nil)
	g.request(http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
	fams := g.scrape(nil)
	labels := map[string]map[string]bool{}
	for name, f := range fams {
		labels[name] = map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[name][l.GetName()] = true
			}
		}
	}

	exprs := 0
	for _, p := range dash.Panels {
		for _, tgt := range p.Targets {
			exprs++
			// Drop label matchers' values and Grafana variables before looking for names.
			expr := regexp.MustCompile(`"[^"]*"|\$__\w+|\[[^\]]*\]|by \([^)]*\)|\{[^}]*\}`).ReplaceAllString(tgt.Expr, "")
			var used []string
			for _, id := range promQLIdent.FindAllString(expr, -1) {
				if promQLWords[id] {
					continue
				}
				family := id
				if _, ok := fams[id]; !ok {
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						if base := strings.TrimSuffix(id, suffix); base != id && fams[base] != nil {
							family = base
						}
					}
				}
				if strings.HasPrefix(id, "tracegate_") || strings.HasPrefix(id, "gen_ai_") || strings.HasPrefix(id, "go_") || strings.HasPrefix(id, "process_") {
					if fams[family] == nil {
						t.Errorf("panel %q uses %s, which tracegate does not export", p.Title, id)
					}
					used = append(used, family)
				}
			}
			if len(used) == 0 {
				t.Errorf("panel %q: no tracegate metric in %q", p.Title, tgt.Expr)
			}
			// Every label the query groups or filters by belongs to a metric it reads.
			for _, group := range regexp.MustCompile(`(?:by \(|\{)([^)}]*)`).FindAllStringSubmatch(tgt.Expr, -1) {
				for _, part := range strings.Split(group[1], ",") {
					name := strings.TrimSpace(regexp.MustCompile(`[!=~].*`).ReplaceAllString(part, ""))
					if name == "" || name == "le" {
						continue
					}
					found := false
					for _, fam := range used {
						found = found || labels[fam][name]
					}
					if !found {
						t.Errorf("panel %q: label %q is on none of %v", p.Title, name, used)
					}
				}
			}
		}
	}
	if exprs < 15 {
		t.Errorf("only %d queries in the dashboard", exprs)
	}
}
