package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/profile"
	"github.com/exdiag/exdiag/cmd/exdiag/internal/serve"
	"github.com/exdiag/exdiag/report"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/spf13/pflag"
)

// The HTTP server's own budgets: a probe's time is bounded by the
// handler's deadline, so these only guard against slow or idle clients.
const (
	serveReadHeaderTimeout = 10 * time.Second
	serveIdleTimeout       = 2 * time.Minute
	serveMaxHeaderBytes    = 64 << 10
	serveShutdownGrace     = 5 * time.Second
)

type serveFlags struct {
	config        string
	listen        string
	webConfig     string
	timeoutOffset time.Duration
	maxConcurrent int
	verbose       bool
}

func newServeFlagSet(f *serveFlags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&f.config, "config", "", "the profile file of the deployments to probe (required)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9842", "address to serve /probe and /metrics on (loopback unless given)")
	fs.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web config: TLS and basic auth for this endpoint")
	fs.DurationVar(&f.timeoutOffset, "timeout-offset", serve.DefaultTimeoutOffset, "taken off Prometheus' scrape timeout, so the answer comes before it gives up")
	fs.IntVar(&f.maxConcurrent, "max-concurrent", serve.DefaultMaxConcurrent, "probes that may run at once over every deployment")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log every probe on stderr")
	return fs
}

const serveUsage = `usage: exdiag serve --config FILE [--listen 127.0.0.1:9842] [flags]

A Prometheus exporter in the blackbox_exporter style: Prometheus schedules
the probes, exdiag answers one per request.

  GET  /probe?target=NAME[&vantage=V][&debug=true]
       run a deployment's checks; debug=true adds the probe's log
  GET  /metrics
       the service's own metrics
  GET  /
       a status page
  POST /-/reload (or SIGHUP)
       reread --config; a file that does not validate leaves the old one in force

flags:
`

// serveHelp is serve --help, laid out to width like the other commands'.
func serveHelp(width int) string {
	var f serveFlags
	fs := newServeFlagSet(&f)
	var fl []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) { fl = append(fl, f) })
	return wrapText(serveUsage, width) + flagUsages(fl, width)
}

func cmdServe(args []string, streams *report.IO, getenv func(string) string) (int, error) {
	var f serveFlags
	fs := newServeFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(streams.Out, serveHelp(helpWidth(streams)))
			return 0, nil
		}
		return 0, usagef("%v; run `exdiag serve --help` for the flags", err)
	}
	if fs.NArg() > 0 {
		return 0, usagef("unexpected argument %q; serve takes flags only, e.g. exdiag serve --config f.yaml", fs.Arg(0))
	}
	if f.config == "" {
		return 0, usagef("--config is missing; give the profile file of the deployments to probe, e.g. exdiag serve --config /etc/exdiag/fleet.yaml")
	}
	if f.timeoutOffset < 0 {
		return 0, usagef("--timeout-offset must not be negative; give e.g. --timeout-offset 500ms")
	}
	if f.maxConcurrent < 1 {
		return 0, usagef("--max-concurrent must be at least 1")
	}
	if f.webConfig != "" {
		if err := web.Validate(f.webConfig); err != nil {
			return 0, usagef("--web.config.file %s: %v; see the exporter-toolkit web configuration format", f.webConfig, err)
		}
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(streams.Err, &slog.HandlerOptions{Level: level}))

	svc, err := serve.New(serve.Options{
		Load:          func() (*serve.Fleet, error) { return loadFleet(f.config, getenv) },
		TimeoutOffset: f.timeoutOffset,
		MaxConcurrent: f.maxConcurrent,
		Logger:        logger,
		Version:       versionString(),
	})
	if err != nil {
		return 0, usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return 0, usagef("cannot listen on %s: %v; pick a free address with --listen", f.listen, unwrapNetErr(err))
	}
	srv := &http.Server{
		Handler:           svc.Handler(),
		ReadHeaderTimeout: serveReadHeaderTimeout,
		IdleTimeout:       serveIdleTimeout,
		MaxHeaderBytes:    serveMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	systemd := false
	listen := []string{ln.Addr().String()}
	toolkit := &web.FlagConfig{WebListenAddresses: &listen, WebSystemdSocket: &systemd, WebConfigFile: &f.webConfig}
	served := make(chan error, 1)
	go func() { served <- web.Serve(ln, srv, toolkit, logger) }()
	fmt.Fprintf(streams.Err, "exdiag serve: listening on %s; probe with /probe?target=NAME\n", ln.Addr())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		select {
		case err := <-served:
			if errors.Is(err, http.ErrServerClosed) {
				return 0, nil
			}
			return 0, fmt.Errorf("the server stopped: %v", err)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				_ = svc.Reload() // logged; the old configuration stays on failure
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), serveShutdownGrace)
			_ = srv.Shutdown(ctx)
			cancel()
			if sig == os.Interrupt {
				return 130, nil
			}
			return 0, nil
		}
	}
}

func unwrapNetErr(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// loadFleet reads the profile file and validates every run, password
// sources included, so a reload with a missing password file is refused
// as a whole rather than failing its probes one by one.
func loadFleet(path string, getenv func(string) string) (*serve.Fleet, error) {
	f, err := profile.Load(path)
	if err != nil {
		return nil, err
	}
	runs, err := f.Runs()
	if err != nil {
		return nil, err
	}
	fleet := &serve.Fleet{}
	for _, r := range runs {
		if _, err := r.Config(getenv); err != nil {
			return nil, err
		}
		if r.Password.IsZero() && r.Spec.User != "" {
			return nil, fmt.Errorf("%s: %s has user %s but no password source; give password_file or password_env (serve cannot prompt)", path, r.Name(), r.Spec.User)
		}
		fleet.Targets = append(fleet.Targets, serve.Target{
			Deployment:         r.Deployment,
			Vantage:            r.Vantage,
			Labels:             r.Labels,
			RBACInterval:       r.RBACInterval,
			BadPasswordBackoff: r.BadPasswordBackoff,
			Config:             func() (*checks.Config, error) { return r.Config(getenv) },
		})
	}
	if len(fleet.Targets) == 0 {
		return nil, fmt.Errorf("%s has no deployments; add one under the deployments key", path)
	}
	return fleet, nil
}
