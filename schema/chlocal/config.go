package chlocal

import (
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// writeConfig writes the smallest configuration clickhouse-server 18.16 and
// later accept: native and HTTP ports on loopback, paths under Dir, one
// password-less user that can connect from loopback only (and Users). Parts are
// compressed with ZSTD level 5 instead of the default LZ4: spans take about
// a fifth less disk (BENCHMARKS.md: 39.2 B a span where level 3 takes
// 40.1 B and LZ4 49 B) for a little more ClickHouse CPU on inserts and
// merges; 18.16 has no per-column CODEC, so this is the only place to choose.
func (s *Server) writeConfig() error {
	d := s.opts.Dir
	config := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>%[1]s/log/clickhouse.log</log>
    <errorlog>%[1]s/log/clickhouse.err.log</errorlog>
    <size>10M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <timezone>UTC</timezone>
  <compression>
    <case>
      <method>zstd</method>
      <level>5</level>
    </case>
  </compression>
</yandex>
`, d, s.port, s.http)
	users := `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
    </default>
    <readonly><readonly>1</readonly></readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
%s  </users>
  <quotas><default></default></quotas>
</yandex>
`
	var more strings.Builder
	for _, name := range slices.Sorted(maps.Keys(s.opts.Users)) {
		if !userName.MatchString(name) || name == "default" {
			return fmt.Errorf("clickhouse user %q: want letters, digits and _, not default", name)
		}
		fmt.Fprintf(&more, "    <%s>\n      <password>%s</password>\n", name, xmlText(s.opts.Users[name]))
		fmt.Fprintf(&more, "      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n      <profile>default</profile>\n      <quota>default</quota>\n    </%s>\n", name)
	}
	users = fmt.Sprintf(users, more.String())
	if err := os.WriteFile(filepath.Join(d, "config.xml"), []byte(config), 0o644); err != nil {
		return fmt.Errorf("write clickhouse config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d, "users.xml"), []byte(users), 0o644); err != nil {
		return fmt.Errorf("write clickhouse users: %w", err)
	}
	return nil
}

// userName is what a user's name may be: it is an XML element's name.
var userName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// xmlText is s escaped as XML character data.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
