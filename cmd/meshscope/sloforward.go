package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
)

// One SLO evaluator among replicas.
//
// Every replica could evaluate the SLOs: they read the same ClickHouse. But
// each would then write its own rows to slo_alerts and send its own
// notifications (Alertmanager de-duplicates, webhooks do not), and SLOs
// created through the API would be saved on one replica's disk only. With
// --slo-evaluator URL one replica, the one whose hostname is the URL's first
// host label (meshscope-0 in the StatefulSet), evaluates; the others run no
// evaluation and forward the SLO and alert routes to it, so that every
// replica's UI and API show the same SLOs.

// evaluatorURL parses --slo-evaluator.
func evaluatorURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("--slo-evaluator %q: want the evaluating replica's base URL, such as http://meshscope-0.meshscope-headless:8080", s)
	}
	return u, nil
}

// sloForwarder returns the handler that forwards the SLO routes to the
// evaluating replica, or nil when this replica evaluates (no
// --slo-evaluator, or it names this host).
func sloForwarder(o serveOptions, log *slog.Logger) (http.Handler, error) {
	if o.sloEvaluator == "" {
		return nil, nil
	}
	target, err := evaluatorURL(o.sloEvaluator)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	label, _, _ := strings.Cut(target.Hostname(), ".")
	if host != "" && strings.EqualFold(label, host) {
		return nil, nil
	}
	log.Info("slo: forwarding the SLO API; another replica evaluates", "evaluator", target.String())
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("slo: evaluator unreachable", "evaluator", target.String(), "err", err)
			writeJSONError(w, http.StatusBadGateway, fmt.Sprintf("the replica that evaluates SLOs (%s) is unreachable: %v", target, err))
		},
	}, nil
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
