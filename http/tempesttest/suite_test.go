//go:build tempest

package tempesttest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var (
	suiteRegex       = flag.String("tempest.regex", `^octavia_tempest_plugin\.tests\.api\.v2\.`, "the tests to run")
	suiteConcurrency = flag.Int("tempest.concurrency", 2, "tempest's workers")
	suiteOut         = flag.String("tempest.out", "", "where to write the results table (markdown); none if empty")
)

// TestTempestSuite runs octavia-tempest-plugin's API tests (make tempest) and
// writes every outcome, with each skip's reason and each failure's message, to
// -tempest.out. Every failure fails the test.
func TestTempestSuite(t *testing.T) {
	s := setUp(t)
	res := s.run(t, *suiteRegex, *suiteConcurrency, 80*time.Minute)
	t.Logf("%d passed, %d failed, %d skipped in %v", res.count("passed"), res.count("failed"), res.count("skipped"),
		res.Duration.Round(time.Second))
	if *suiteOut != "" {
		if err := os.MkdirAll(filepath.Dir(*suiteOut), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := *suiteOut + ".tmp"
		if err := os.WriteFile(tmp, []byte(res.markdown()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, *suiteOut); err != nil {
			t.Fatal(err)
		}
	}
	if res.count("failed") > 0 {
		t.Errorf("octavia-tempest-plugin failures:\n%s", res.failures())
	}
}

// markdown is the results file: the totals, the skips grouped by reason, the
// failures with their messages, and every test's outcome.
func (r *results) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# octavia-tempest-plugin against keel (%s)\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "`%s`, one keeld (-auth-strategy keystone, -amphora-driver noop), a real Keystone, "+
		"test_with_noop; %s.\n\n", r.Regex, r.Duration.Round(time.Second))
	fmt.Fprintf(&b, "| passed | failed | skipped | total |\n|---:|---:|---:|---:|\n| %d | %d | %d | %d |\n\n",
		r.count("passed"), r.count("failed"), r.count("skipped"), len(r.Tests))
	reasons := map[string][]string{}
	for _, o := range r.Tests {
		if o.Status == "skipped" {
			reason := strings.TrimSpace(o.Message)
			reasons[reason] = append(reasons[reason], o.Name)
		}
	}
	if len(reasons) > 0 {
		var keys []string
		for k := range reasons {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return len(reasons[keys[i]]) > len(reasons[keys[j]]) })
		b.WriteString("## Skipped, by the plugin's reason\n\n| tests | reason |\n|---:|---|\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "| %d | %s |\n", len(reasons[k]), strings.ReplaceAll(strings.ReplaceAll(k, "\n", " "), "|", "\\|"))
		}
		b.WriteString("\n")
	}
	if r.count("failed") > 0 {
		b.WriteString("## Failed\n\n")
		for _, o := range r.Tests {
			if o.Status == "failed" {
				fmt.Fprintf(&b, "### %s\n\n```\n%s\n```\n\n", o.Name, tail([]byte(o.Message), 4000))
			}
		}
	}
	b.WriteString("## Every test\n\n| test | outcome | seconds |\n|---|---|---:|\n")
	for _, o := range r.Tests {
		fmt.Fprintf(&b, "| %s | %s | %.1f |\n", o.Name, o.Status, o.Seconds)
	}
	return b.String()
}
