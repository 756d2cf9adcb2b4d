package chlocal_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema/chlocal"
	"github.com/meshscope/meshscope/schema/chtest"
)

// A server that dies is restarted by the supervisor on the same port.
func TestSupervisorRestartsADeadServer(t *testing.T) {
	srv := chtest.Server(t)
	pid := srv.PID()
	srv.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for srv.Restarts() == 0 || srv.PID() == pid {
		require.True(t, time.Now().Before(deadline), "not restarted")
		time.Sleep(20 * time.Millisecond)
	}
	c, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
	require.NoError(t, err)
	c.Close()
	st, err := chlocal.ReadState(t.TempDir())
	require.Error(t, err, "no state where no server runs")
	require.Zero(t, st.PID)
}

// A user whose name cannot be an element of the users file, or that would
// replace the default user, is refused before a server starts.
func TestUsersNamesChecked(t *testing.T) {
	for _, name := range []string{"bad name", "default", "x<y", ""} {
		_, err := chlocal.Start(t.Context(), chlocal.Options{Dir: t.TempDir(), Users: map[string]string{name: "pw"}})
		require.ErrorContains(t, err, "clickhouse user", name)
	}
}
