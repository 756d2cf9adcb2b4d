package chlocal

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// ClusterConfig makes a private server one node of a ClickHouse cluster: the
// cluster's shards as remote_servers, and this node's {shard} and {replica}
// macros. Every shard has one replica and there is no ZooKeeper or
// ClickHouse Keeper, so Distributed tables work (they need no coordination)
// but ON CLUSTER DDL and Replicated tables do not: migrate every node with
// chstore.Config.ClusterDDLPerNode. That is what tests of cluster mode need;
// production clusters are configured as in deploy/kubernetes/overlays/cluster.
type ClusterConfig struct {
	// Name of the cluster, as ON CLUSTER and Distributed tables name it.
	Name string
	// Shards is the native protocol address (host:port) of every shard, in
	// shard order; _shard_num 1 is the first.
	Shards []string
	// Shard is this node's {shard} macro, e.g. "01".
	Shard string
	// Replica is this node's {replica} macro, e.g. "node-1".
	Replica string
}

// Validate names the field at fault.
func (c ClusterConfig) Validate() error {
	if c.Name == "" {
		return errors.New("cluster config: Name is empty")
	}
	if len(c.Shards) == 0 {
		return fmt.Errorf("cluster config %s: no Shards", c.Name)
	}
	for i, addr := range c.Shards {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return fmt.Errorf("cluster config %s: shard %d %q: want host:port", c.Name, i+1, addr)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("cluster config %s: shard %d %q: bad port", c.Name, i+1, addr)
		}
	}
	if c.Shard == "" || c.Replica == "" {
		return fmt.Errorf("cluster config %s: Shard and Replica macros are required", c.Name)
	}
	return nil
}

// ClusterConfigFile is where WriteClusterConfig puts the configuration:
// clickhouse-server merges every file of config.d/ beside its config.xml
// into the configuration that Start writes.
func ClusterConfigFile(dir string) string { return filepath.Join(dir, "config.d", "cluster.xml") }

// WriteClusterConfig writes c for the server that Start will run under dir.
// Call it before Start, or before Resume after a Pause.
func WriteClusterConfig(dir string, c ClusterConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	b.WriteString("<?xml version=\"1.0\"?>\n<yandex>\n  <remote_servers>\n")
	fmt.Fprintf(&b, "    <%s>\n", esc(c.Name))
	for _, addr := range c.Shards {
		host, port, _ := net.SplitHostPort(addr)
		b.WriteString("      <shard>\n")
		// One replica per shard: the Distributed table writes it directly.
		b.WriteString("        <internal_replication>false</internal_replication>\n")
		fmt.Fprintf(&b, "        <replica><host>%s</host><port>%s</port></replica>\n", esc(host), port)
		b.WriteString("      </shard>\n")
	}
	fmt.Fprintf(&b, "    </%s>\n  </remote_servers>\n", esc(c.Name))
	fmt.Fprintf(&b, "  <macros>\n    <cluster>%s</cluster>\n    <shard>%s</shard>\n    <replica>%s</replica>\n  </macros>\n</yandex>\n",
		esc(c.Name), esc(c.Shard), esc(c.Replica))
	path := ClusterConfigFile(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create clickhouse config.d: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write clickhouse cluster config: %w", err)
	}
	return nil
}

// StartCluster starts shards private servers as the shards of cluster name,
// one replica each, on free loopback ports, each under opts.Dir/shardN with
// the macros shard=0N and replica=node-N. opts.Port is ignored. On error the
// servers already started are stopped; otherwise call Stop on each.
func StartCluster(ctx context.Context, name string, shards int, opts Options) ([]*Server, error) {
	if shards <= 0 {
		return nil, fmt.Errorf("start cluster %s: want at least one shard, got %d", name, shards)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Every shard's configuration names every shard's port, so a port
	// taken before its server binds it means new ports for all of them.
	for attempt := 1; ; attempt++ {
		servers, err := startCluster(ctx, name, shards, opts)
		if err == nil || attempt == 3 || !errors.Is(err, errPortTaken) {
			return servers, err
		}
		opts.Logger.Info("clickhouse cluster ports taken meanwhile; picking others", "err", err)
	}
}

func startCluster(ctx context.Context, name string, shards int, opts Options) ([]*Server, error) {
	ports := make([]int, shards)
	addrs := make([]string, shards)
	for i := range ports {
		p, err := pickPort()
		if err != nil {
			return nil, err
		}
		ports[i], addrs[i] = p, net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	var servers []*Server
	stopAll := func() {
		for _, s := range servers {
			_ = s.Stop()
		}
	}
	for i := range shards {
		node := opts
		node.Dir = filepath.Join(opts.Dir, fmt.Sprintf("shard%d", i+1))
		node.Port = ports[i]
		cfg := ClusterConfig{Name: name, Shards: addrs, Shard: fmt.Sprintf("%02d", i+1), Replica: fmt.Sprintf("node-%d", i+1)}
		if err := WriteClusterConfig(node.Dir, cfg); err != nil {
			stopAll()
			return nil, err
		}
		s, err := Start(ctx, node)
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("start cluster %s shard %d: %w", name, i+1, err)
		}
		servers = append(servers, s)
	}
	return servers, nil
}
