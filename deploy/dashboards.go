package deploy

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed grafana/dashboards/*.json
var dashboards embed.FS

// PanelQuery is one query of one dashboard panel.
type PanelQuery struct {
	Dashboard string // file name
	Panel     string // panel title
	Expr      string // the query as written, with Grafana variables
}

// Dashboard is one provisioned dashboard's variables and queries.
type Dashboard struct {
	File    string
	Vars    map[string]DashboardVar
	Queries []PanelQuery
}

// DashboardVar is a template variable and its default.
type DashboardVar struct {
	Name     string
	Query    string   // the variable's query (label_values(...)), if any
	Default  []string // the values selected when the dashboard opens
	AllValue string   // the regexp standing for "All"
}

// Dashboards reads every dashboard of deploy/grafana/dashboards.
func Dashboards() ([]Dashboard, error) {
	files, err := dashboards.ReadDir("grafana/dashboards")
	if err != nil {
		return nil, fmt.Errorf("deploy: dashboards: %w", err)
	}
	var out []Dashboard
	for _, f := range files {
		b, err := dashboards.ReadFile(path.Join("grafana/dashboards", f.Name()))
		if err != nil {
			return nil, fmt.Errorf("deploy: dashboards: %w", err)
		}
		d, err := parseDashboard(f.Name(), b)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

func parseDashboard(name string, b []byte) (Dashboard, error) {
	var raw struct {
		Templating struct {
			List []struct {
				Name     string          `json:"name"`
				Type     string          `json:"type"`
				Query    json.RawMessage `json:"query"`
				AllValue string          `json:"allValue"`
				Current  struct {
					Value json.RawMessage `json:"value"`
				} `json:"current"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
			Panels []json.RawMessage `json:"panels"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Dashboard{}, fmt.Errorf("deploy: dashboard %s: %w", name, err)
	}
	d := Dashboard{File: name, Vars: map[string]DashboardVar{}}
	for _, v := range raw.Templating.List {
		if v.Type == "datasource" {
			continue
		}
		dv := DashboardVar{Name: v.Name, AllValue: v.AllValue}
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			_ = json.Unmarshal(v.Query, &dv.Query)
		} else {
			dv.Query = q.Query
		}
		var one string
		if json.Unmarshal(v.Current.Value, &one) == nil {
			dv.Default = []string{one}
		} else {
			_ = json.Unmarshal(v.Current.Value, &dv.Default)
		}
		d.Vars[v.Name] = dv
	}
	for _, p := range raw.Panels {
		if len(p.Panels) > 0 {
			return Dashboard{}, fmt.Errorf("deploy: dashboard %s: collapsed row %q: its panels would not be checked", name, p.Title)
		}
		for _, tg := range p.Targets {
			d.Queries = append(d.Queries, PanelQuery{Dashboard: name, Panel: p.Title, Expr: tg.Expr})
		}
	}
	return d, nil
}

var grafanaVar = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|([A-Za-z_][A-Za-z0-9_]*))`)

// Resolve returns expr as Grafana sends it when the dashboard opens with its
// defaults: each variable is replaced by its default (All by its allValue, several
// values by an alternation) and $__rate_interval, $__interval by rate, $__range by
// rng. A variable without a default is an error: the panel would be empty.
func (d Dashboard) Resolve(expr, rate, rng string) (string, error) {
	var err error
	out := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		switch name {
		case "__rate_interval", "__interval":
			return rate
		case "__range":
			return rng
		}
		v, ok := d.Vars[name]
		if !ok {
			err = fmt.Errorf("%s: unknown variable $%s in %s", d.File, name, expr)
			return m
		}
		if len(v.Default) == 0 {
			err = fmt.Errorf("%s: variable $%s has no default", d.File, name)
			return m
		}
		if len(v.Default) == 1 && v.Default[0] == "$__all" {
			if v.AllValue == "" {
				err = fmt.Errorf("%s: variable $%s defaults to All without an allValue", d.File, name)
				return m
			}
			return v.AllValue
		}
		if len(v.Default) == 1 {
			return v.Default[0]
		}
		return "(" + strings.Join(v.Default, "|") + ")"
	})
	return out, err
}
