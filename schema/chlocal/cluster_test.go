package chlocal_test

import (
	"encoding/xml"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chlocal"
)

func TestClusterConfigValidate(t *testing.T) {
	good := chlocal.ClusterConfig{Name: "meshscope", Shards: []string{"127.0.0.1:9001", "127.0.0.1:9002"}, Shard: "01", Replica: "node-1"}
	cases := []struct {
		name    string
		edit    func(*chlocal.ClusterConfig)
		wantErr string
	}{
		{"valid", func(*chlocal.ClusterConfig) {}, ""},
		{"no name", func(c *chlocal.ClusterConfig) { c.Name = "" }, "Name is empty"},
		{"no shards", func(c *chlocal.ClusterConfig) { c.Shards = nil }, "no Shards"},
		{"no port", func(c *chlocal.ClusterConfig) { c.Shards = []string{"127.0.0.1"} }, "want host:port"},
		{"bad port", func(c *chlocal.ClusterConfig) { c.Shards = []string{"127.0.0.1:0"} }, "bad port"},
		{"no macros", func(c *chlocal.ClusterConfig) { c.Replica = "" }, "macros are required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Shards = append([]string(nil), good.Shards...)
			tc.edit(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestWriteClusterConfig(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, chlocal.WriteClusterConfig(dir, chlocal.ClusterConfig{
		Name: "meshscope", Shards: []string{"127.0.0.1:9001", "localhost:9002"}, Shard: "02", Replica: "node-2",
	}))
	b, err := os.ReadFile(chlocal.ClusterConfigFile(dir))
	require.NoError(t, err)
	var cfg struct {
		XMLName       xml.Name `xml:"yandex"`
		RemoteServers struct {
			Cluster struct {
				XMLName xml.Name
				Shards  []struct {
					Replica struct {
						Host string `xml:"host"`
						Port int    `xml:"port"`
					} `xml:"replica"`
				} `xml:"shard"`
			} `xml:",any"`
		} `xml:"remote_servers"`
		Macros struct {
			Cluster string `xml:"cluster"`
			Shard   string `xml:"shard"`
			Replica string `xml:"replica"`
		} `xml:"macros"`
	}
	require.NoError(t, xml.Unmarshal(b, &cfg))
	require.Equal(t, "meshscope", cfg.RemoteServers.Cluster.XMLName.Local)
	require.Len(t, cfg.RemoteServers.Cluster.Shards, 2)
	require.Equal(t, "127.0.0.1", cfg.RemoteServers.Cluster.Shards[0].Replica.Host)
	require.Equal(t, 9001, cfg.RemoteServers.Cluster.Shards[0].Replica.Port)
	require.Equal(t, "localhost", cfg.RemoteServers.Cluster.Shards[1].Replica.Host)
	require.Equal(t, "meshscope", cfg.Macros.Cluster)
	require.Equal(t, "02", cfg.Macros.Shard)
	require.Equal(t, "node-2", cfg.Macros.Replica)
	require.Error(t, chlocal.WriteClusterConfig(dir, chlocal.ClusterConfig{Name: "x"}), "an invalid config is not written")
}
