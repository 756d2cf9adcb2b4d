package slo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/slo/notify"
	"github.com/meshscope/meshscope/slo/spec"
)

func TestConfigValidate(t *testing.T) {
	zero := spec.Duration(0)
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		err  string
	}{
		{"defaults", func(c *Config) {}, ""},
		{"interval", func(c *Config) { c.Interval = time.Millisecond }, "interval 1ms: want at least 1s"},
		{"concurrency", func(c *Config) { c.Concurrency = -1 }, "concurrency -1: want at least 1"},
		{"settle", func(c *Config) { c.Settle = -time.Second }, "settle -1s: must not be negative"},
		{"alerting defaults", func(c *Config) {
			c.Alerting.Page = &[]spec.BurnWindow{{Long: spec.Duration(time.Hour), Short: zero, Burn: 2}}
		}, "alerting.page[0].short: must be positive (got 0s)"},
		{"no_data default", func(c *Config) { c.Alerting.NoData = "maybe" }, `alerting.no_data: must be keep, ok or alert (got "maybe")`},
		{"alertmanager", func(c *Config) { c.Alertmanagers = []notify.AlertmanagerConfig{{URL: "am"}} }, `alertmanagers[0]: alertmanagers.url "am": want http(s)://HOST:PORT`},
		{"webhook", func(c *Config) { c.Webhooks = []notify.WebhookConfig{{URL: ""}} }, `webhooks[0]: webhooks.url "": want http(s)://HOST/PATH`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			tc.edit(&c)
			c.SetDefaults()
			err := c.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
		})
	}
	var c Config
	c.SetDefaults()
	require.Equal(t, 30*time.Second, c.Interval)
	require.Equal(t, 10*time.Second, c.Delay)
	require.Equal(t, time.Minute, c.ResendInterval)
	require.Equal(t, 8, c.Concurrency)
}
