package deploy

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the generated Prometheus configs (go generate ./deploy)")

// TestShippedConfigsAreTheTemplate: deploy/prometheus.yml and
// deploy/compose/prometheus.yml are the template rendered with their targets, byte
// for byte (-update rewrites them), and the three deployments' configs are one
// configuration modulo target addresses and the rule file's path.
func TestShippedConfigsAreTheTemplate(t *testing.T) {
	for _, tg := range []Targets{BareHost, Compose} {
		want, err := PrometheusConfig(tg)
		if err != nil {
			t.Fatal(err)
		}
		path := strings.TrimPrefix(tg.Self, "deploy/")
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from prometheus.yml.tmpl rendered with its targets: run go generate ./deploy", tg.Self)
		}
	}
	bare, _ := os.ReadFile("prometheus.yml")
	compose, _ := os.ReadFile("compose/prometheus.yml")
	dev, err := PrometheusConfig(Targets{Online: "127.0.0.1:40001", Worker: "127.0.0.1:40002", Prometheus: "127.0.0.1:40003", RuleFile: "/tmp/x/alerts.yml"})
	if err != nil {
		t.Fatal(err)
	}
	b := Canonical(t, bare)
	for name, other := range map[string][]byte{"compose/prometheus.yml": compose, "devstack": dev} {
		if c := Canonical(t, other); c != b {
			t.Errorf("%s is not prometheus.yml modulo addresses:\n%s\nvs\n%s", name, c, b)
		}
	}
}

// Canonical is a Prometheus config with addresses and rule paths replaced by
// placeholders and the alerting section dropped (the devstack has one only when
// Alertmanager is installed), re-marshalled: two configs that differ only in
// where things run compare equal.
func Canonical(t testing.TB, b []byte) string {
	t.Helper()
	c, err := CanonicalConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScaleRuleDurations(t *testing.T) {
	in := []byte(`groups:
  - name: g
    rules:
      - alert: A
        expr: increase(x_total[1h]) > 0 and deriv(y[5m]) > 0 and max_over_time(z[10m:1m]) > 5 * period
        for: 15m
      - alert: B
        expr: up == 0
        for: 0m
      - record: r
        expr: rate(x_total[2m])
`)
	out, err := ScaleRuleDurations(in, 60)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []map[string]string `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Groups[0].Rules
	if got, want := r[0]["expr"], "increase(x_total[1m]) > 0 and deriv(y[5s]) > 0 and max_over_time(z[10s:1s]) > 5 * period"; got != want {
		t.Errorf("expr = %q, want %q", got, want)
	}
	if r[0]["for"] != "15s" || r[1]["for"] != "0s" || r[2]["expr"] != "rate(x_total[2s])" {
		t.Errorf("scaled rules: %v", r)
	}
	if _, err := ScaleRuleDurations(AlertRules(), 60); err != nil {
		t.Errorf("alerts.yml: %v", err)
	}
}

// Every dashboard variable has a default, every $variable of a query is defined,
// and the job variable's default is a scrape job of the shipped configuration.
func TestDashboardsSelectShippedJobs(t *testing.T) {
	ds, err := Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) < 4 {
		t.Fatalf("%d dashboards", len(ds))
	}
	jobs := map[string]bool{JobOnline: true, JobWorker: true, JobPrometheus: true}
	for _, d := range ds {
		job, ok := d.Vars["job"]
		if !ok {
			t.Errorf("%s: no job variable", d.File)
			continue
		}
		for _, v := range job.Default {
			if v != "$__all" && !jobs[v] {
				t.Errorf("%s: job defaults to %q, not a job of prometheus.yml.tmpl", d.File, v)
			}
		}
		for _, q := range d.Queries {
			expr, err := d.Resolve(q.Expr, "1m", "1h")
			if err != nil {
				t.Errorf("%s: %v", q.Panel, err)
				continue
			}
			if strings.Contains(expr, "$") {
				t.Errorf("%s: %s: unresolved variable in %s", d.File, q.Panel, expr)
			}
			if !strings.Contains(q.Expr, `job=~"$job"`) {
				t.Errorf("%s: %s: query does not select $job: %s", d.File, q.Panel, q.Expr)
			}
		}
	}
}
