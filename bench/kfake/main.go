// Command kfake runs franz-go's kfake fake Kafka broker standalone, as one node on one port,
// so that bench/ and conformance/side_by_side.py can start it like any other broker.
//
//	kfake -port 9092 -data-dir /tmp/kfake -c message.max.bytes=2000000
//
// kfake is a library for tests; this is our own small main around its public options. Where
// kfake's defaults differ from a new Apache Kafka broker's, Kafka's are used: topics are
// auto-created on Metadata (auto.create.topics.enable=true) with one partition
// (num.partitions=1); both can be changed with -c as Kafka names them. Other -c keys go to
// kfake as broker configs. Once the listener accepts connections it prints one line,
// "kfake ready: bootstrap=127.0.0.1:PORT ...", on stdout; SIGTERM or SIGINT closes the
// cluster (with a data dir, its state is saved first).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

const kfakeModule = "github.com/twmb/franz-go/pkg/kfake"

// configs collects repeated -c key=value flags in order.
type configs map[string]string

func (c configs) String() string { return "" }

func (c configs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	c[k] = v
	return nil
}

func kfakeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == kfakeModule {
			return dep.Version
		}
	}
	return "unknown"
}

func logLevel(name string) (kfake.LogLevel, error) {
	switch strings.ToLower(name) {
	case "none":
		return kfake.LogLevelNone, nil
	case "error":
		return kfake.LogLevelError, nil
	case "warn":
		return kfake.LogLevelWarn, nil
	case "info":
		return kfake.LogLevelInfo, nil
	case "debug":
		return kfake.LogLevelDebug, nil
	}
	return 0, fmt.Errorf("unknown log level %q (none, error, warn, info, debug)", name)
}

// options turns the command line into kfake options; the Kafka-named keys that map onto
// kfake options rather than broker configs are taken out of cfgs.
func options(port int, dataDir string, sync bool, level kfake.LogLevel, cfgs configs) ([]kfake.Opt, error) {
	opts := []kfake.Opt{
		kfake.Ports(port), // one port: one broker, which is also the controller
		kfake.WithLogger(kfake.BasicLogger(os.Stderr, level)),
	}
	autoCreate := true
	if v, ok := cfgs["auto.create.topics.enable"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("auto.create.topics.enable: %q is not a boolean", v)
		}
		autoCreate = b
		delete(cfgs, "auto.create.topics.enable")
	}
	if autoCreate {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	partitions := 1
	if v, ok := cfgs["num.partitions"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("num.partitions: %q is not a positive integer", v)
		}
		partitions = n
		delete(cfgs, "num.partitions")
	}
	opts = append(opts, kfake.DefaultNumPartitions(partitions))
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	if sync {
		opts = append(opts, kfake.SyncWrites())
	}
	if len(cfgs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(cfgs))
	}
	return opts, nil
}

func run() int {
	began := time.Now()
	cfgs := make(configs)
	port := flag.Int("port", 9092, "port on 127.0.0.1 (0 picks a free one)")
	dataDir := flag.String("data-dir", "", "persist topics, offsets and groups here (default: in memory)")
	sync := flag.Bool("sync", false, "fsync every write (default: on segment roll and shutdown, as Kafka)")
	level := flag.String("log-level", "none", "none, error, warn, info or debug (to stderr)")
	version := flag.Bool("version", false, "print kfake's module version and exit")
	flag.Var(cfgs, "c", "broker config key=value (repeatable)")
	flag.Parse()
	if *version {
		fmt.Printf("kfake %s\n", kfakeVersion())
		return 0
	}
	lvl, err := logLevel(*level)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: %v\n", err)
		return 2
	}
	opts, err := options(*port, *dataDir, *sync, lvl, cfgs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: %v\n", err)
		return 2
	}
	// Signals are caught before the listener opens, so a stop sent just after the ready
	// line is never lost.
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)

	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: cannot start: %v\n", err)
		return 1
	}
	data := *dataDir
	if data == "" {
		data = "(memory)"
	}
	fmt.Printf("kfake ready: bootstrap=%s data=%s (started in %d ms)\n",
		cluster.ListenAddrs()[0], data, time.Since(began).Milliseconds())

	<-stop
	done := make(chan struct{})
	go func() {
		cluster.Close()
		close(done)
	}()
	select {
	case <-done:
		return 0
	case <-stop:
		fmt.Fprintln(os.Stderr, "kfake: second signal, exiting without saving")
		return 1
	}
}

func main() {
	os.Exit(run())
}
