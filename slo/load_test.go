package slo

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const oneSLO = "slos:\n  - {name: a, target: {service: shop/a}, sli: availability, objective: 99.9, window: 28d}\n"
const twoSLOs = oneSLO + "  - {name: b, target: {service: shop/b}, sli: availability, objective: 99.5, window: 28d}\n"

func names(e *Engine) []string {
	var out []string
	for _, v := range e.List() {
		out = append(out, v.Spec.Name)
	}
	sort.Strings(out)
	return out
}

func TestReload(t *testing.T) {
	dir := writeSpecs(t, "team.yaml", twoSLOs)
	e, _ := newEngine(t, Config{Path: dir}, nil, &clock{t: S})
	require.NoError(t, e.Reload())
	require.Equal(t, []string{"a", "b"}, names(e))
	require.Empty(t, e.FileErrors())

	// An invalid file is skipped; what was loaded from it stays.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "team.yaml"), []byte(oneSLO+"  - {name: c, target: {service: shop/c}, sli: availability, objective: 100.5, window: 28d}\n"), 0o644))
	err := e.Reload()
	require.EqualError(t, err, "invalid slo spec files: "+filepath.Join(dir, "team.yaml")+": slos[1].objective: must be between 0 and 100 (got 100.5)")
	require.Equal(t, []FileError{{File: filepath.Join(dir, "team.yaml"), Field: "slos[1].objective", Error: "must be between 0 and 100 (got 100.5)"}}, e.FileErrors())
	require.Equal(t, []string{"a", "b"}, names(e))

	// A second file defining a loaded name is skipped as a whole.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "team.yaml"), []byte(twoSLOs), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz.yaml"), []byte("slos:\n  - {name: b, target: {service: shop/z}, sli: availability, objective: 99, window: 28d}\n  - {name: z, target: {service: shop/z}, sli: availability, objective: 99, window: 28d}\n"), 0o644))
	require.Error(t, e.Reload())
	require.Equal(t, []string{"a", "b"}, names(e))
	require.Equal(t, "name", e.FileErrors()[0].Field)
	require.Contains(t, e.FileErrors()[0].Error, `SLO "b" is already defined in `+filepath.Join(dir, "team.yaml"))

	// Hidden and non-YAML files are not read; removing a file removes its SLOs.
	require.NoError(t, os.Remove(filepath.Join(dir, "zz.yaml")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".team.yaml.tmp"), []byte("garbage: ["), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("# SLOs"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, "team.yaml")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(oneSLO), 0o644))
	require.NoError(t, e.Reload())
	require.Equal(t, []string{"a"}, names(e))
}

func TestRunReloadsOnChangeAndSIGHUP(t *testing.T) {
	dir := writeSpecs(t, "team.yaml", oneSLO)
	run := func(t *testing.T, poll time.Duration) (*Engine, func()) {
		e, _ := newEngine(t, Config{Path: dir, PollInterval: poll, Interval: time.Hour}, nil, &clock{t: S})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		require.Eventually(t, func() bool { return len(e.List()) > 0 }, 10*time.Second, 10*time.Millisecond)
		return e, func() {
			cancel()
			require.NoError(t, <-done)
		}
	}
	t.Run("file change", func(t *testing.T) {
		e, stop := run(t, 20*time.Millisecond)
		defer stop()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "team.yaml"), []byte(twoSLOs), 0o644))
		require.Eventually(t, func() bool { return len(e.List()) == 2 }, 10*time.Second, 10*time.Millisecond)
	})
	t.Run("SIGHUP", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "team.yaml"), []byte(oneSLO), 0o644))
		e, stop := run(t, -1)
		defer stop()
		require.Equal(t, []string{"a"}, names(e))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "team.yaml"), []byte(twoSLOs), 0o644))
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
		require.Eventually(t, func() bool { return len(e.List()) == 2 }, 10*time.Second, 10*time.Millisecond)
	})
}
