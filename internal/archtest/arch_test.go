package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/modelmon/modelmon/"

// imports lists, for every package of the module, the module's packages it imports
// (directly), relative to the module root.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		m[pkg] = nil
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module) {
				m[pkg] = append(m[pkg], strings.TrimPrefix(imp, module))
			}
		}
	}
	if len(m) < 20 {
		t.Fatalf("go list found %d packages: %v", len(m), m)
	}
	return m
}

func TestLayers(t *testing.T) {
	rules := []struct {
		pkg    string // prefix of the importing packages
		banned func(imp string) bool
		why    string
	}{
		{"internal/", func(imp string) bool { return !strings.HasPrefix(imp, "internal/") && imp != "templates" },
			"internal packages import no top-level package (mains and the user's folders sit above them)"},
		{"workflows", func(imp string) bool { return strings.HasPrefix(imp, "activities") },
			"the workflow calls activities by name (internal/batch/batchapi), never by import"},
		{"internal/report", func(imp string) bool {
			for _, b := range []string{"internal/reporthtml", "internal/batch", "internal/monitor", "internal/serve", "internal/store", "internal/mongodb"} {
				if imp == b {
					return true
				}
			}
			return false
		}, "the report computation knows no rendering, storage or serving"},
		{"internal/envconf", func(string) bool { return true }, "the settings table is a leaf"},
		{"internal/drift", func(imp string) bool { return imp != "internal/metrics" && imp != "internal/fscale" }, "statistics import only statistics (and the numerics they share)"},
	}
	for pkg, imps := range imports(t) {
		for _, r := range rules {
			if pkg != r.pkg && !strings.HasPrefix(pkg, r.pkg+"/") && !(strings.HasSuffix(r.pkg, "/") && strings.HasPrefix(pkg, r.pkg)) {
				continue
			}
			if pkg == "internal/reporthtml" && r.pkg == "internal/report" {
				continue
			}
			for _, imp := range imps {
				if r.banned(imp) {
					t.Errorf("%s imports %s: %s", pkg, imp, r.why)
				}
			}
		}
	}
}
