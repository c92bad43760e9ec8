package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestComposeConfig validates deploy/temporal-compose.yml with Debian's docker-compose,
// which parses and resolves the file without a Docker engine.
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose not installed (.ci/run installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-f", "temporal-compose.yml", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, svc := range []string{"temporal:", "temporal-ui:", "mongo:", "prometheus:", "alertmanager:", "grafana:", "online:", "worker:"} {
		if !strings.Contains(string(out), "\n  "+svc) {
			t.Errorf("service %s missing from the resolved compose file", strings.TrimSuffix(svc, ":"))
		}
	}
}

// TestComposeRunsTheShippedConfig resolves the compose file and checks that its
// Prometheus runs the shipped configuration: compose/prometheus.yml (the template
// rendered with the compose targets, TestShippedConfigsAreTheTemplate) and alerts.yml
// mounted where the config looks for them, every target a compose service listening
// on that port, Alertmanager with deploy/alertmanager.yml, and Grafana with the
// shipped dashboards at the path of the shipped provisioning and a datasource equal
// to the bare-host one but for its url.
func TestComposeRunsTheShippedConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose not installed (.ci/run installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-f", "temporal-compose.yml", "config").Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v", err)
	}
	var cf struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Ports       []any             `yaml:"ports"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &cf); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	mounts := func(svc string) map[string]string { // container path -> host path relative to deploy/
		m := map[string]string{}
		for _, v := range cf.Services[svc].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 {
				rel, err := filepath.Rel(wd, parts[0])
				if err != nil || strings.HasPrefix(rel, "..") {
					rel = parts[0]
				}
				m[parts[1]] = rel
			}
		}
		return m
	}

	prom := mounts("prometheus")
	if got := prom["/etc/prometheus/prometheus.yml"]; got != "compose/prometheus.yml" {
		t.Errorf("prometheus runs %q, want compose/prometheus.yml", got)
	}
	if got := prom[Compose.RuleFile]; got != "alerts.yml" {
		t.Errorf("prometheus's %s is %q, want alerts.yml", Compose.RuleFile, got)
	}
	b, err := os.ReadFile("compose/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var pc struct {
		RuleFiles []string `yaml:"rule_files"`
		Alerting  struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &pc); err != nil {
		t.Fatal(err)
	}
	if len(pc.RuleFiles) != 1 || pc.RuleFiles[0] != Compose.RuleFile {
		t.Errorf("rule_files %v", pc.RuleFiles)
	}
	// Each target is a service that listens on the target's port.
	listens := map[string]string{ // service -> its listen port, from its own settings
		"online":       port(cf.Services["online"].Environment["ONLINE_ADDR"]),
		"worker":       port(cf.Services["worker"].Environment["METRICS_ADDR"]),
		"alertmanager": "9093", // Alertmanager's default --web.listen-address
		"localhost":    "9090", // Prometheus itself
	}
	var targets []string
	for _, j := range pc.ScrapeConfigs {
		for _, s := range j.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
	}
	for _, a := range pc.Alerting.Alertmanagers {
		for _, s := range a.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
	}
	if len(targets) != 4 {
		t.Errorf("targets %v, want online, worker, prometheus, alertmanager", targets)
	}
	for _, tg := range targets {
		host, p, _ := strings.Cut(tg, ":")
		if _, ok := cf.Services[host]; !ok && host != "localhost" {
			t.Errorf("target %s: no compose service %q", tg, host)
		}
		if listens[host] != p {
			t.Errorf("target %s: the service listens on port %q", tg, listens[host])
		}
	}
	am := mounts("alertmanager")
	if got := am["/etc/alertmanager/alertmanager.yml"]; got != "alertmanager.yml" {
		t.Errorf("alertmanager runs %q, want alertmanager.yml", got)
	}
	if !strings.Contains(strings.Join(cf.Services["alertmanager"].Command, " "), "--config.file=/etc/alertmanager/alertmanager.yml") {
		t.Errorf("alertmanager command %v", cf.Services["alertmanager"].Command)
	}

	// Grafana: the shipped dashboard provisioning, its dashboards where it looks.
	gr := mounts("grafana")
	if got := gr["/etc/grafana/provisioning/dashboards"]; got != "grafana/provisioning/dashboards" {
		t.Errorf("grafana dashboard provisioning from %q", got)
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	b, err = os.ReadFile("grafana/provisioning/dashboards/dashboards.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prov); err != nil || len(prov.Providers) != 1 {
		t.Fatalf("dashboards.yml: %v %+v", err, prov)
	}
	if got := gr[prov.Providers[0].Options.Path]; got != "grafana/dashboards" {
		t.Errorf("grafana looks for dashboards in %s, which holds %q, not grafana/dashboards", prov.Providers[0].Options.Path, got)
	}
	dsFile := gr["/etc/grafana/provisioning/datasources/datasource.yml"]
	if dsFile == "" {
		t.Fatal("grafana has no datasource provisioning")
	}
	type dsDoc struct {
		APIVersion  int              `yaml:"apiVersion"`
		Datasources []map[string]any `yaml:"datasources"`
	}
	read := func(p string) dsDoc {
		var d dsDoc
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &d); err != nil || len(d.Datasources) != 1 {
			t.Fatalf("%s: %v %+v", p, err, d)
		}
		return d
	}
	composeDS, bareDS := read(dsFile), read("grafana/provisioning/datasources/prometheus.yml")
	if u := composeDS.Datasources[0]["url"]; u != "http://prometheus:9090" {
		t.Errorf("compose datasource url %v, want the prometheus service", u)
	}
	delete(composeDS.Datasources[0], "url")
	delete(bareDS.Datasources[0], "url")
	if !reflect.DeepEqual(composeDS, bareDS) {
		t.Errorf("datasources differ beyond the url:\n%+v\n%+v", composeDS, bareDS)
	}
	if ti, _ := bareDS.Datasources[0]["jsonData"].(map[string]any)["timeInterval"].(string); ti != promDuration(DefaultInterval) {
		t.Errorf("datasource timeInterval %q, want the scrape interval %s", ti, promDuration(DefaultInterval))
	}
}

func port(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}
