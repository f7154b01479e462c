// promql-check parses PromQL expressions with Prometheus' own parser and names the metrics
// each one selects. scripts/helm-test.sh feeds it the chart's alert rules and dashboard
// queries, then checks every metric name against the ones the gateway exports.
//
// Input (stdin): a JSON array of {"where": "...", "expr": "..."}.
// Output (stdout): a JSON array of {"where", "error", "metrics"}; the exit status is 1 when
// any expression does not parse.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/prometheus/prometheus/promql/parser"
)

type query struct {
	Where string `json:"where"`
	Expr  string `json:"expr"`
}

type result struct {
	Where   string   `json:"where"`
	Error   string   `json:"error,omitempty"`
	Metrics []string `json:"metrics"`
}

func main() {
	var queries []query
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "promql-check: reading the queries:", err)
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	failed := false
	results := make([]result, 0, len(queries))
	for _, q := range queries {
		r := result{Where: q.Where, Metrics: []string{}}
		expr, err := p.ParseExpr(q.Expr)
		if err != nil {
			r.Error = err.Error()
			failed = true
		} else {
			seen := map[string]bool{}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" && !seen[vs.Name] {
					seen[vs.Name] = true
					r.Metrics = append(r.Metrics, vs.Name)
				}
				return nil
			})
			sort.Strings(r.Metrics)
		}
		results = append(results, r)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "promql-check:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}
