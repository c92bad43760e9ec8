package deploy

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// ScaleRuleDurations returns the rule file with every duration of its alert rules
// divided by div: each `for:` and each range or subquery duration in `expr`
// ([5m] with div 60 is [5s], [1h] is [1m]). It lets a test run the shipped rules at
// a faster clock (Prometheus scraping and evaluating every second) while keeping
// their logic: a rule that fires after 15 minutes of drift fires after 15 seconds.
// Constants inside expressions (thresholds, `5 * period`) are not durations and
// stay as they are.
func ScaleRuleDurations(rules []byte, div int) ([]byte, error) {
	if div < 1 {
		return nil, fmt.Errorf("deploy: scale rules: divisor %d < 1", div)
	}
	var doc struct {
		Groups []struct {
			Name     string           `yaml:"name"`
			Interval string           `yaml:"interval,omitempty"`
			Rules    []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &doc); err != nil {
		return nil, fmt.Errorf("deploy: scale rules: %w", err)
	}
	var firstErr error
	scale := func(s string) string {
		d, err := parsePromDuration(s)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return s
		}
		return promDuration(d / time.Duration(div))
	}
	n := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if f, ok := r["for"].(string); ok {
				r["for"] = scale(f)
			}
			if e, ok := r["expr"].(string); ok {
				r["expr"] = rangeRe.ReplaceAllStringFunc(e, func(m string) string {
					sub := rangeRe.FindStringSubmatch(m)
					out := "[" + scale(sub[1])
					if sub[2] != "" {
						out += ":" + scale(sub[2])
					} else if len(m) > len(sub[1])+2 {
						out += ":"
					}
					return out + "]"
				})
			}
			n++
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("deploy: scale rules: %w", firstErr)
	}
	if n == 0 {
		return nil, fmt.Errorf("deploy: scale rules: no rules")
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("deploy: scale rules: %w", err)
	}
	return out, nil
}

var (
	rangeRe   = regexp.MustCompile(`\[([0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*)(?::([0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*)?)?\]`)
	durPartRe = regexp.MustCompile(`([0-9]+)(ms|[smhdwy])`)
	promUnits = map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
	fullDurRe = regexp.MustCompile(`^(?:[0-9]+(?:ms|[smhdwy]))+$`)
)

// parsePromDuration parses a Prometheus duration (1h30m, 5m, 0s).
func parsePromDuration(s string) (time.Duration, error) {
	if !fullDurRe.MatchString(s) {
		return 0, fmt.Errorf("not a duration: %q", s)
	}
	var d time.Duration
	for _, p := range durPartRe.FindAllStringSubmatch(s, -1) {
		n, err := strconv.ParseInt(p[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		d += time.Duration(n) * promUnits[p[2]]
	}
	return d, nil
}
