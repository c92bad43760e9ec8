// Package deploy holds the files that run modelmon outside this repository's Go
// programs (the compose file, the Dockerfile, Prometheus, Alertmanager and Grafana
// provisioning) and the one source they share: the Prometheus configuration
// template, the alert rules and the dashboards, embedded so that the devstack
// renders exactly what ships.
//
// deploy/prometheus.yml (bare host) and deploy/compose/prometheus.yml (the compose
// stack) are generated from prometheus.yml.tmpl:
//
//	go generate ./deploy
package deploy

import (
	"bytes"
	_ "embed"
	"fmt"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

//go:generate go test -run TestShippedConfigsAreTheTemplate -update .

//go:embed prometheus.yml.tmpl
var promTemplate string

//go:embed alerts.yml
var alertRules []byte

// Scrape job names, the same in every deployment: alerts.yml and the dashboards
// select them.
const (
	JobOnline     = "modelmon-online"
	JobWorker     = "modelmon-worker"
	JobPrometheus = "prometheus"
)

// DefaultInterval is the scrape and rule-evaluation interval of every shipped
// configuration.
const DefaultInterval = 10 * time.Second

// Targets are what differs between deployments: addresses and the rule file's path.
type Targets struct {
	Deployment string // named in the file's header comment
	Self       string // the file's path, named in the header's promtool line

	Online       string // host:port of the online service's /metrics
	Worker       string // host:port of the batch worker's /metrics
	Prometheus   string // Prometheus itself (empty: no self-scrape job)
	Alertmanager string // host:port of Alertmanager (empty: no alerting section)
	RuleFile     string // path of alerts.yml as Prometheus sees it

	// Interval of scrapes and rule evaluations; zero is DefaultInterval. Only
	// tests shorten it.
	Interval time.Duration
}

// BareHost is deploy/prometheus.yml: everything on one host, default ports.
var BareHost = Targets{
	Deployment: "bare host (every service on 127.0.0.1, default ports)", Self: "deploy/prometheus.yml",
	Online: "127.0.0.1:9696", Worker: "127.0.0.1:9697", Prometheus: "127.0.0.1:9090", Alertmanager: "127.0.0.1:9093",
	RuleFile: "alerts.yml",
}

// Compose is deploy/compose/prometheus.yml: the services of deploy/temporal-compose.yml
// by their compose names.
var Compose = Targets{
	Deployment: "deploy/temporal-compose.yml (services by their compose names)", Self: "deploy/compose/prometheus.yml",
	Online: "online:9696", Worker: "worker:9697", Prometheus: "localhost:9090", Alertmanager: "alertmanager:9093",
	RuleFile: "/etc/prometheus/alerts.yml",
}

// PrometheusConfig renders the configuration for t.
func PrometheusConfig(t Targets) ([]byte, error) {
	if t.Online == "" || t.Worker == "" || t.RuleFile == "" {
		return nil, fmt.Errorf("deploy: prometheus config: online, worker and rule file are required")
	}
	iv := t.Interval
	if iv <= 0 {
		iv = DefaultInterval
	}
	timeout := min(iv, 5*time.Second)
	tmpl, err := template.New("prometheus.yml").Parse(promTemplate)
	if err != nil {
		return nil, fmt.Errorf("deploy: prometheus template: %w", err)
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, struct {
		Targets
		ScrapeInterval, ScrapeTimeout, EvaluationInterval string
	}{t, promDuration(iv), promDuration(timeout), promDuration(iv)})
	if err != nil {
		return nil, fmt.Errorf("deploy: prometheus template: %w", err)
	}
	return b.Bytes(), nil
}

// AlertRules returns deploy/alerts.yml as shipped.
func AlertRules() []byte { return bytes.Clone(alertRules) }

// promDuration formats d the way Prometheus writes durations (10s, 1m, 1h30m).
func promDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d%time.Second != 0 {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	s := int64(d / time.Second)
	out := ""
	for _, u := range []struct {
		n    int64
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			out += fmt.Sprintf("%d%s", s/u.n, u.unit)
			s %= u.n
		}
	}
	return out
}

// CanonicalConfig returns a Prometheus configuration with every target address
// replaced by its job's name, every rule file by "alerts.yml" and the alerting
// section dropped, re-marshalled: two configurations that differ only in where
// things run compare equal.
func CanonicalConfig(b []byte) (string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("deploy: canonical config: %w", err)
	}
	delete(doc, "alerting")
	if rf, ok := doc["rule_files"].([]any); ok {
		for i := range rf {
			rf[i] = "alerts.yml"
		}
	}
	jobs, _ := doc["scrape_configs"].([]any)
	for _, j := range jobs {
		job, _ := j.(map[string]any)
		sc, _ := job["static_configs"].([]any)
		for _, s := range sc {
			st, _ := s.(map[string]any)
			if tg, ok := st["targets"].([]any); ok {
				for i := range tg {
					tg[i] = fmt.Sprintf("<%v>", job["job_name"])
				}
			}
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("deploy: canonical config: %w", err)
	}
	return string(out), nil
}

//go:embed alertmanager.yml
var alertmanagerConfig []byte

// AlertmanagerConfig returns deploy/alertmanager.yml as shipped.
func AlertmanagerConfig() []byte { return bytes.Clone(alertmanagerConfig) }
