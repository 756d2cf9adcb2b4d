package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// WebhookConfig is a generic webhook that receives Alertmanager's webhook
// payload (version 4).
type WebhookConfig struct {
	// Name is the receiver name in the payload (default "meshscope").
	Name string `yaml:"name" json:"name"`
	// URL receives a POST per notification.
	URL string `yaml:"url" json:"url"`
	// Timeout bounds one POST (default 10s).
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	// RepeatInterval is how often a firing alert is notified again
	// (default 4h, as Alertmanager's repeat_interval; negative never).
	RepeatInterval time.Duration `yaml:"repeat_interval" json:"repeat_interval"`
}

// Validate names the YAML key at fault.
func (c *WebhookConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhooks.url %q: want http(s)://HOST/PATH", c.URL)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("webhooks.timeout %s: must not be negative", c.Timeout)
	}
	return nil
}

// WebhookMessage is Alertmanager's webhook payload, version 4.
type WebhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a webhook payload.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Webhook posts webhook payloads to one URL.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhook returns a sender; client nil means http.DefaultClient.
func NewWebhook(cfg WebhookConfig, client *http.Client) *Webhook {
	if cfg.Name == "" {
		cfg.Name = "meshscope"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RepeatInterval == 0 {
		cfg.RepeatInterval = 4 * time.Hour
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Webhook{cfg: cfg, client: client}
}

// Name is the receiver name.
func (w *Webhook) Name() string { return w.cfg.Name }

// RepeatInterval is how often a firing alert is notified again; negative never.
func (w *Webhook) RepeatInterval() time.Duration { return w.cfg.RepeatInterval }

// Message builds the payload for a group of alerts: groupLabels are the
// labels the group shares by construction, now decides firing or resolved.
func (w *Webhook) Message(groupLabels map[string]string, alerts []Alert, externalURL string, now time.Time) WebhookMessage {
	m := WebhookMessage{
		Version:     "4",
		Status:      "resolved",
		Receiver:    w.cfg.Name,
		GroupLabels: groupLabels,
		ExternalURL: externalURL,
		Alerts:      make([]WebhookAlert, len(alerts)),
	}
	var parts []string
	for _, k := range sortedKeys(groupLabels) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, groupLabels[k]))
	}
	m.GroupKey = "{}:{" + strings.Join(parts, ", ") + "}"
	labels := make([]map[string]string, len(alerts))
	annotations := make([]map[string]string, len(alerts))
	for i, a := range alerts {
		status := "firing"
		if a.Resolved(now) {
			status = "resolved"
		} else {
			m.Status = "firing"
		}
		m.Alerts[i] = WebhookAlert{
			Status: status, Labels: a.Labels, Annotations: a.Annotations,
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint(),
		}
		if status == "firing" {
			m.Alerts[i].EndsAt = time.Time{}
		}
		labels[i], annotations[i] = a.Labels, a.Annotations
	}
	m.CommonLabels, m.CommonAnnotations = common(labels), common(annotations)
	return m
}

// Send posts one payload.
func (w *Webhook) Send(ctx context.Context, m WebhookMessage) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	if err := post(ctx, w.client, w.cfg.URL, w.cfg.Headers, m); err != nil {
		return fmt.Errorf("webhook %s: %w", w.cfg.Name, err)
	}
	return nil
}

// common returns the pairs every map has.
func common(maps []map[string]string) map[string]string {
	out := map[string]string{}
	if len(maps) == 0 {
		return out
	}
	for k, v := range maps[0] {
		all := true
		for _, m := range maps[1:] {
			if m[k] != v {
				all = false
				break
			}
		}
		if all {
			out[k] = v
		}
	}
	return out
}
