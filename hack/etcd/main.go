// Command etcd is a minimal etcd server built on go.etcd.io/etcd/server/v3/embed, for tools that
// need an etcd binary in KUBEBUILDER_ASSETS (controller-runtime's envtest). It takes the flags
// envtest passes; upstream's etcd main cannot be built from this module's dependency graph.
// hack/build-kubebuilder-assets.sh builds it.
package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "etcd:", err)
		os.Exit(1)
	}
}

type flags struct {
	name, dataDir, initialCluster, logLevel            string
	listenClient, advertiseClient, listenPeer, advPeer []string
	noFsync                                            bool
	quota                                              int64
}

func run(args []string) error {
	var f flags
	fs := pflag.NewFlagSet("etcd", pflag.ContinueOnError)
	fs.StringVar(&f.name, "name", "default", "member name")
	fs.StringVar(&f.dataDir, "data-dir", "default.etcd", "data directory")
	fs.StringSliceVar(&f.listenClient, "listen-client-urls", []string{"http://127.0.0.1:2379"}, "client URLs to listen on")
	fs.StringSliceVar(&f.advertiseClient, "advertise-client-urls", nil, "client URLs to advertise (default: the listen URLs)")
	fs.StringSliceVar(&f.listenPeer, "listen-peer-urls", []string{"http://127.0.0.1:2380"}, "peer URLs to listen on")
	fs.StringSliceVar(&f.advPeer, "initial-advertise-peer-urls", nil, "peer URLs to advertise (default: the listen URLs)")
	fs.StringVar(&f.initialCluster, "initial-cluster", "", "initial cluster (default: this member alone)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level")
	fs.BoolVar(&f.noFsync, "unsafe-no-fsync", false, "disable fsync (tests only: loses data on a crash)")
	fs.Int64Var(&f.quota, "quota-backend-bytes", 0, "backend size quota (0: etcd's default)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Print(fs.FlagUsages())
			return nil
		}
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	return serve(cfg)
}

func (f flags) config() (*embed.Config, error) {
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir, cfg.LogLevel = f.name, f.dataDir, f.logLevel
	cfg.UnsafeNoFsync, cfg.QuotaBackendBytes = f.noFsync, f.quota
	lists := []struct {
		in  []string
		out *[]url.URL
	}{
		{f.listenClient, &cfg.ListenClientUrls}, {orDefault(f.advertiseClient, f.listenClient), &cfg.AdvertiseClientUrls},
		{f.listenPeer, &cfg.ListenPeerUrls}, {orDefault(f.advPeer, f.listenPeer), &cfg.AdvertisePeerUrls},
	}
	for _, l := range lists {
		urls, err := parseURLs(l.in)
		if err != nil {
			return nil, err
		}
		*l.out = urls
	}
	cfg.InitialCluster = f.initialCluster
	if cfg.InitialCluster == "" {
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	}
	return cfg, nil
}

func serve(cfg *embed.Config) error {
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
		return nil
	case err := <-e.Err():
		return err
	}
}

func orDefault(v, def []string) []string {
	if len(v) == 0 {
		return def
	}
	return v
}

func parseURLs(in []string) ([]url.URL, error) {
	out := make([]url.URL, 0, len(in))
	for _, s := range in {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("URL %q: %w", s, err)
		}
		out = append(out, *u)
	}
	return out, nil
}
