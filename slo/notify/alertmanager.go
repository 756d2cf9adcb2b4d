package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AlertmanagerConfig is one Alertmanager to notify. With several (an HA
// pair), every alert goes to each; Alertmanager de-duplicates.
type AlertmanagerConfig struct {
	// URL is the Alertmanager's base URL (http://alertmanager:9093); alerts
	// are posted to URL/api/v2/alerts.
	URL string `yaml:"url" json:"url"`
	// Timeout bounds one POST (default 10s).
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Headers are added to every request (Authorization ...).
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
}

// Validate names the YAML key at fault.
func (c *AlertmanagerConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("alertmanagers.url %q: want http(s)://HOST:PORT", c.URL)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("alertmanagers.timeout %s: must not be negative", c.Timeout)
	}
	return nil
}

// Alertmanager posts alerts to one Alertmanager.
type Alertmanager struct {
	cfg    AlertmanagerConfig
	url    string
	client *http.Client
}

// NewAlertmanager returns a client; client nil means http.DefaultClient.
func NewAlertmanager(cfg AlertmanagerConfig, client *http.Client) *Alertmanager {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Alertmanager{cfg: cfg, url: strings.TrimRight(cfg.URL, "/") + "/api/v2/alerts", client: client}
}

// Name is the Alertmanager's URL.
func (a *Alertmanager) Name() string { return a.cfg.URL }

// Send posts the alerts in one request.
func (a *Alertmanager) Send(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	if err := post(ctx, a.client, a.url, a.cfg.Headers, alerts); err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	return nil
}
