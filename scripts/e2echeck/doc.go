// Command e2echeck is the Go half of scripts/e2e-jaeger.sh. The script starts Jaeger and
// tracegate and owns their lifetimes; e2echeck finds free ports, probes readiness, sends real
// traffic through tracegate ("traffic": the run API, the OpenAI-compatible endpoint and the
// spans API) and asserts the resulting traces through Jaeger's
// query API ("verify"). It uses only the standard library, so the end-to-end test needs
// nothing on the machine but Go.
//
//	e2echeck ports N                 print N free TCP ports on 127.0.0.1, one a line
//	e2echeck probe URL               exit 0 when GET URL answers 200 within a second
//	e2echeck traffic -tracegate URL -state FILE -tally FILE ...
//	e2echeck verify  -jaeger URL    -state FILE -tally FILE -timeout 30s
//
// Each test prints "ok   - name" or "FAIL - name" followed by what was wrong, and appends
// "<passed> <failed>" to the tally file the script sums into its closing line.
package main
