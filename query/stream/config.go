package stream

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config configures the websocket hub. Zero fields take the defaults of
// WithDefaults.
type Config struct {
	// HeartbeatInterval is how often a client receives a heartbeat message
	// carrying the last sequence number. Default 5s.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// PingInterval is how often the server sends a websocket ping. Default 20s.
	PingInterval time.Duration `yaml:"ping_interval"`
	// PongTimeout closes a connection from which nothing (no message, no
	// pong) arrived for this long. Must exceed PingInterval. Default 60s.
	PongTimeout time.Duration `yaml:"pong_timeout"`
	// WriteTimeout closes a connection whose one message could not be
	// written within it. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// SendQueue is how many messages may wait for a slow client; when it
	// is full the client's pending deltas are dropped and it gets a fresh
	// snapshot once it catches up. Default 8.
	SendQueue int `yaml:"send_queue"`
	// MaxMessageBytes bounds a message from a client; a larger one closes
	// the connection (status 1009). Default 16 KiB.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// SubscribeBuffer is the buffer of the hub's subscription to the live
	// graph, one per granularity. Default 16.
	SubscribeBuffer int `yaml:"subscribe_buffer"`
	// MaxClients bounds concurrent connections; more are answered 503.
	// Default 10000.
	MaxClients int `yaml:"max_clients"`
	// AllowedOrigins lists the browser origins (scheme://host[:port]), besides
	// the server's own host, that may open the stream; "*" allows every
	// origin. Requests without an Origin header (scripts) are always allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Compression negotiates permessage-deflate with clients that offer it.
	Compression bool `yaml:"compression"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.HeartbeatInterval, 5*time.Second)
	set(&c.PingInterval, 20*time.Second)
	set(&c.PongTimeout, 60*time.Second)
	set(&c.WriteTimeout, 10*time.Second)
	if c.SendQueue == 0 {
		c.SendQueue = 8
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 16 << 10
	}
	if c.SubscribeBuffer == 0 {
		c.SubscribeBuffer = 16
	}
	if c.MaxClients == 0 {
		c.MaxClients = 10000
	}
	return c
}

// Validate checks c after WithDefaults.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"stream.heartbeat_interval", c.HeartbeatInterval},
		{"stream.ping_interval", c.PingInterval},
		{"stream.pong_timeout", c.PongTimeout},
		{"stream.write_timeout", c.WriteTimeout},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", d.key, d.v))
		}
	}
	if c.PongTimeout <= c.PingInterval {
		errs = append(errs, fmt.Errorf("stream.pong_timeout (%s) must exceed stream.ping_interval (%s)", c.PongTimeout, c.PingInterval))
	}
	if c.SendQueue < 1 {
		errs = append(errs, fmt.Errorf("stream.send_queue must be at least 1, got %d", c.SendQueue))
	}
	if c.MaxMessageBytes < 256 {
		errs = append(errs, fmt.Errorf("stream.max_message_bytes must be at least 256, got %d", c.MaxMessageBytes))
	}
	if c.SubscribeBuffer < 1 {
		errs = append(errs, fmt.Errorf("stream.subscribe_buffer must be at least 1, got %d", c.SubscribeBuffer))
	}
	if c.MaxClients < 1 {
		errs = append(errs, fmt.Errorf("stream.max_clients must be at least 1, got %d", c.MaxClients))
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("stream.allowed_origins: %q is not an origin like https://ui.example.com", o))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
