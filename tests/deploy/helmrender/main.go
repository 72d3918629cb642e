// helmrender: a stand-in for `helm template` where helm cannot be installed
// (it is in neither Debian nor npm). It renders a chart's templates with Go's
// text/template and the sprig functions, as helm does, plus helm's own
// include, tpl, toYaml, toJson, fromYaml and required, over .Values
// (values.yaml and --set overrides), .Chart, .Release, .Template and
// .Capabilities. It is not helm: no dependencies, hooks, lookup against a
// cluster or schema validation. scripts/check-deploy builds it with Debian's
// Go and sprig packages (GOPATH mode) and validates its output like
// `kubectl kustomize`'s; the check is named helm-template-standin.
//
//	helmrender CHART_DIR RELEASE NAMESPACE [key=value ...]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "helmrender: "+format+"\n", a...)
	os.Exit(1)
}

func readYAML(path string) map[string]interface{} {
	b, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		die("%s: %v", path, err)
	}
	return m
}

// set applies one --set style "a.b.c=value" override.
func set(values map[string]interface{}, kv string) {
	eq := strings.IndexByte(kv, '=')
	if eq < 0 {
		die("bad override %q (want key=value)", kv)
	}
	path := strings.Split(kv[:eq], ".")
	raw := kv[eq+1:]
	var v interface{} = raw
	if raw == "true" || raw == "false" {
		v = raw == "true"
	} else if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		v = n
	}
	m := values
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func toYaml(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func main() {
	if len(os.Args) < 4 {
		die("usage: helmrender CHART_DIR RELEASE NAMESPACE [key=value ...]")
	}
	dir, release, ns := os.Args[1], os.Args[2], os.Args[3]
	chartMeta := readYAML(filepath.Join(dir, "Chart.yaml"))
	values := readYAML(filepath.Join(dir, "values.yaml"))
	for _, kv := range os.Args[4:] {
		set(values, kv)
	}
	chartName, _ := chartMeta["name"].(string)
	chart := map[string]interface{}{
		"Name":        chartName,
		"Version":     fmt.Sprint(chartMeta["version"]),
		"AppVersion":  fmt.Sprint(chartMeta["appVersion"]),
		"Description": chartMeta["description"],
	}

	root := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYaml
	funcs["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		_ = yaml.Unmarshal([]byte(s), &m)
		return m
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["lookup"] = func(...interface{}) map[string]interface{} { return map[string]interface{}{} }
	root.Funcs(funcs)

	tdir := filepath.Join(dir, "templates")
	entries, err := os.ReadDir(tdir)
	if err != nil {
		die("%v", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".tpl")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tdir, n))
		if err != nil {
			die("%v", err)
		}
		full := chartName + "/templates/" + n
		if _, err := root.New(full).Parse(string(b)); err != nil {
			die("parse %s: %v", full, err)
		}
		if !strings.HasPrefix(n, "_") && !strings.HasSuffix(n, ".tpl") {
			names = append(names, full)
		}
	}
	sort.Strings(names)
	out := os.Stdout
	for _, full := range names {
		data := map[string]interface{}{
			"Values":  values,
			"Chart":   chart,
			"Release": map[string]interface{}{"Name": release, "Namespace": ns, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
			"Template": map[string]interface{}{
				"Name": full, "BasePath": chartName + "/templates",
			},
			"Capabilities": map[string]interface{}{
				"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30"},
				"APIVersions": []string{},
			},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, full, data); err != nil {
			die("render %s: %v", full, err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(out, "---\n# Source: %s\n%s\n", full, strings.TrimSpace(text))
	}
}
