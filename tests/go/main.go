// franz-go (kgo, kadm) scenarios run by tests/integration/test_franz_go.py against kpy and
// against Apache Kafka:
//
//	franzgo SCENARIO '{"bootstrap": "host:port", "topic": "...", ...}'
//
// Each scenario prints one JSON object on stdout: what it observed, or {"error": "..."} with
// exit code 1. Scenarios: round-trip (produce, consume in a classic group and in a KIP-848
// group, committed offsets), transactions (commit, abort, read_committed, a consume-transform-
// produce session), admin (kadm topic, config, partition and record calls).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type args struct {
	Bootstrap string `json:"bootstrap"`
	Topic     string `json:"topic"`
	Group     string `json:"group"`
	TxnID     string `json:"txnId"`
}

type record struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type result map[string]any

var scenarios = map[string]func(context.Context, args) (result, error){
	"round-trip":   roundTrip,
	"transactions": transactions,
	"admin":        admin,
}

func main() {
	if len(os.Args) != 3 || scenarios[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: franzgo round-trip|transactions|admin JSON-ARGS")
		os.Exit(2)
	}
	var a args
	if err := json.Unmarshal([]byte(os.Args[2]), &a); err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := scenarios[os.Args[1]](ctx, a)
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	_ = json.NewEncoder(os.Stdout).Encode(result{"error": err.Error()})
	os.Exit(1)
}

func client(a args, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(a.Bootstrap)}, opts...)...)
}

// consume polls until n records have come, in partition then offset order.
func consume(ctx context.Context, cl *kgo.Client, n int) ([]record, error) {
	var got []record
	for len(got) < n {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d of %d records: %w", len(got), n, err)
		}
		for _, fe := range fetches.Errors() {
			return nil, fmt.Errorf("fetch %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			got = append(got, record{string(r.Key), string(r.Value), r.Partition, r.Offset})
		})
	}
	sort.Slice(got, func(i, j int) bool {
		if got[i].Partition != got[j].Partition {
			return got[i].Partition < got[j].Partition
		}
		return got[i].Offset < got[j].Offset
	})
	return got, nil
}

func offsetsOf(listed kadm.ListedOffsets) (map[string]int64, error) {
	out := map[string]int64{}
	for _, ps := range listed {
		for p, o := range ps {
			if o.Err != nil {
				return nil, o.Err
			}
			out[fmt.Sprint(p)] = o.Offset
		}
	}
	return out, listed.Error()
}

func committedOf(resps kadm.OffsetResponses) (map[string]int64, error) {
	out := map[string]int64{}
	for _, ps := range resps {
		for p, o := range ps {
			if o.Err != nil {
				return nil, o.Err
			}
			out[fmt.Sprint(p)] = o.At
		}
	}
	return out, nil
}

// groupConsume reads n records as a member of group (KIP-848 with serverSide), commits them
// and leaves the group.
func groupConsume(ctx context.Context, a args, group string, n int, serverSide bool) ([]record, error) {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(a.Topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	if serverSide {
		opts = append(opts, kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()))
	}
	cl, err := client(a, opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	got, err := consume(ctx, cl, n)
	if err != nil {
		return nil, err
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		return nil, err
	}
	return got, nil
}

func roundTrip(ctx context.Context, a args) (result, error) {
	adm, err := client(a)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)
	if _, err := admin.CreateTopic(ctx, 3, 1, nil, a.Topic); err != nil {
		return nil, err
	}

	// Keyed records, half of them gzip-compressed; the key picks the partition (murmur2).
	var produced []record
	for i, codec := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression()} {
		cl, err := client(a, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(a.Topic))
		if err != nil {
			return nil, err
		}
		var recs []*kgo.Record
		for j := 0; j < 15; j++ {
			n := i*15 + j
			recs = append(recs, kgo.KeyStringRecord(fmt.Sprintf("k%d", n%10), fmt.Sprintf("v%d", n)))
		}
		err = cl.ProduceSync(ctx, recs...).FirstErr()
		cl.Close()
		if err != nil {
			return nil, err
		}
		for _, r := range recs { // in the order sent; produced, they carry partition and offset
			produced = append(produced, record{string(r.Key), string(r.Value), r.Partition, r.Offset})
		}
	}

	classic, err := groupConsume(ctx, a, a.Group, len(produced), false)
	if err != nil {
		return nil, fmt.Errorf("classic group: %w", err)
	}
	next, err := groupConsume(ctx, a, a.Group+"-848", len(produced), true)
	if err != nil {
		return nil, fmt.Errorf("KIP-848 group: %w", err)
	}

	ends, err := admin.ListEndOffsets(ctx, a.Topic)
	if err != nil {
		return nil, err
	}
	out := result{"produced": produced, "classic": classic, "next": next}
	if out["ends"], err = offsetsOf(ends); err != nil {
		return nil, err
	}
	for key, group := range map[string]string{"committedClassic": a.Group, "committedNext": a.Group + "-848"} {
		resps, err := admin.FetchOffsets(ctx, group)
		if err != nil {
			return nil, err
		}
		if out[key], err = committedOf(resps); err != nil {
			return nil, err
		}
	}
	groups, err := admin.DescribeGroups(ctx, a.Group)
	if err != nil {
		return nil, err
	}
	g := groups[a.Group]
	out["classicGroup"] = result{"state": g.State, "protocolType": g.ProtocolType, "members": len(g.Members)}
	described, err := admin.DescribeConsumerGroups(ctx, a.Group+"-848")
	if err != nil {
		return nil, err
	}
	d := described[a.Group+"-848"]
	if d.Err != nil {
		return nil, d.Err
	}
	out["nextGroup"] = result{"state": d.State, "members": len(d.Members)}
	return out, nil
}

func values(recs []record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Value)
	}
	return out
}

func transactions(ctx context.Context, a args) (result, error) {
	adm, err := client(a)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)
	out := a.Topic + "-out"
	if _, err := admin.CreateTopics(ctx, 1, 1, nil, a.Topic, out); err != nil {
		return nil, err
	}

	producer, err := client(a, kgo.TransactionalID(a.TxnID), kgo.DefaultProduceTopic(a.Topic))
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	for i, end := range []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryAbort, kgo.TryCommit} {
		if err := producer.BeginTransaction(); err != nil {
			return nil, err
		}
		var recs []*kgo.Record
		for j := 0; j < 5; j++ {
			recs = append(recs, kgo.StringRecord(fmt.Sprintf("t%d-%d", i, j)))
		}
		if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return nil, err
		}
		if err := producer.EndTransaction(ctx, end); err != nil {
			return nil, err
		}
	}
	res := result{}
	// Kafka answers EndTxn once PrepareCommit is stored and writes the markers after it, so a
	// describe right away may see PrepareCommit: wait (bounded by ctx) for the state to settle.
	for {
		txns, err := admin.DescribeTransactions(ctx, a.TxnID)
		if err != nil {
			return nil, err
		}
		d := txns[a.TxnID]
		res["described"] = result{"state": d.State, "topics": len(d.Topics)}
		if !strings.HasPrefix(d.State, "Prepare") || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	for name, level := range map[string]kgo.IsolationLevel{"committed": kgo.ReadCommitted(), "uncommitted": kgo.ReadUncommitted()} {
		cl, err := client(a, kgo.ConsumeTopics(a.Topic), kgo.FetchIsolationLevel(level),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			return nil, err
		}
		n := map[string]int{"committed": 10, "uncommitted": 15}[name]
		got, err := consume(ctx, cl, n)
		cl.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		res[name] = got
	}
	ends, err := admin.ListEndOffsets(ctx, a.Topic)
	if err != nil {
		return nil, err
	}
	if res["ends"], err = offsetsOf(ends); err != nil {
		return nil, err
	}

	// Consume-transform-produce: the committed values, upper-cased, to the out topic, with
	// the group's offsets committed in the same transactions.
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(a.Bootstrap), kgo.TransactionalID(a.TxnID+"-eos"),
		kgo.ConsumerGroup(a.Group), kgo.ConsumeTopics(a.Topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic(out),
	)
	if err != nil {
		return nil, err
	}
	for copied := 0; copied < 10; {
		fetches := sess.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			sess.Close()
			return nil, err
		}
		if err := sess.Begin(); err != nil {
			sess.Close()
			return nil, err
		}
		var recs []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			recs = append(recs, kgo.StringRecord(strings.ToUpper(string(r.Value))))
		})
		if err := sess.Client().ProduceSync(ctx, recs...).FirstErr(); err != nil {
			sess.Close()
			return nil, err
		}
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			sess.Close()
			return nil, err
		}
		if committed {
			copied += len(recs)
		}
	}
	sess.Close()
	cl, err := client(a, kgo.ConsumeTopics(out), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	copied, err := consume(ctx, cl, 10)
	cl.Close()
	if err != nil {
		return nil, err
	}
	res["copied"] = values(copied)
	resps, err := admin.FetchOffsets(ctx, a.Group)
	if err != nil {
		return nil, err
	}
	if res["groupCommitted"], err = committedOf(resps); err != nil {
		return nil, err
	}
	return res, nil
}

// topicReady waits until a Metadata request (not the client's cache) finds at least n
// partitions of topic, all with leaders: Kafka's controller answers CreateTopics and
// CreatePartitions before its broker knows the result. It returns how many there are.
func topicReady(ctx context.Context, cl *kgo.Client, topic string, n int) (int, error) {
	for {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		req.AllowAutoTopicCreation = false
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return 0, err
		}
		found := 0
		if len(resp.Topics) == 1 && resp.Topics[0].ErrorCode == 0 {
			for _, p := range resp.Topics[0].Partitions {
				if p.Leader >= 0 {
					found++
				}
			}
		}
		if found >= n {
			return found, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %s: %d of %d partitions: %w", topic, found, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func errName(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func admin(ctx context.Context, a args) (result, error) {
	adm, err := client(a)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)
	res := result{}

	brokers, err := admin.ListBrokers(ctx)
	if err != nil {
		return nil, err
	}
	res["brokers"] = len(brokers)

	compact := "compact"
	created, err := admin.CreateTopic(ctx, 2, 1, map[string]*string{"cleanup.policy": &compact}, a.Topic)
	if err != nil {
		return nil, err
	}
	res["created"] = result{"partitions": created.NumPartitions, "replicationFactor": created.ReplicationFactor}
	if _, err := topicReady(ctx, adm, a.Topic, 2); err != nil {
		return nil, err
	}
	again, _ := admin.CreateTopic(ctx, 2, 1, nil, a.Topic)
	res["createdAgain"] = errName(again.Err)

	if _, err := admin.UpdatePartitions(ctx, 4, a.Topic); err != nil {
		return nil, err
	}
	if res["partitions"], err = topicReady(ctx, adm, a.Topic, 4); err != nil {
		return nil, err
	}

	producer, err := client(a, kgo.DefaultProduceTopic(a.Topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v"), Partition: 3})
	}
	err = producer.ProduceSync(ctx, recs...).FirstErr()
	producer.Close()
	if err != nil {
		return nil, err
	}

	// DeleteRecords is refused while the topic is compacted only.
	deleteRecords := func() (string, error) {
		var before kadm.Offsets
		before.AddOffset(a.Topic, 3, 6, -1)
		deleted, err := admin.DeleteRecords(ctx, before)
		if err != nil {
			return "", err
		}
		return errName(deleted.Error()), nil
	}
	if res["deleteRecordsCompacted"], err = deleteRecords(); err != nil {
		return nil, err
	}

	configs := func() (map[string]string, error) {
		described, err := admin.DescribeTopicConfigs(ctx, a.Topic)
		if err != nil {
			return nil, err
		}
		rc, err := described.On(a.Topic, nil)
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" || c.Key == "retention.ms" {
				out[c.Key] = fmt.Sprintf("%s %s", c.MaybeValue(), c.Source)
			}
		}
		return out, rc.Err
	}
	if res["configs"], err = configs(); err != nil {
		return nil, err
	}
	hour, both := "3600000", "compact,delete"
	altered, err := admin.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Name: "retention.ms", Value: &hour}, {Name: "cleanup.policy", Value: &both},
	}, a.Topic)
	if err != nil {
		return nil, err
	}
	if _, err := altered.On(a.Topic, nil); err != nil {
		return nil, err
	}
	// Kafka's broker applies the change when its metadata catches up with the controller's.
	for {
		now, err := configs()
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(now["cleanup.policy"], both+" ") || ctx.Err() != nil {
			res["configsAltered"] = now
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	if res["deleteRecords"], err = deleteRecords(); err != nil {
		return nil, err
	}
	starts, err := admin.ListStartOffsets(ctx, a.Topic)
	if err != nil {
		return nil, err
	}
	if res["starts"], err = offsetsOf(starts); err != nil {
		return nil, err
	}
	ends, err := admin.ListEndOffsets(ctx, a.Topic)
	if err != nil {
		return nil, err
	}
	if res["ends"], err = offsetsOf(ends); err != nil {
		return nil, err
	}

	dropped, err := admin.DeleteTopic(ctx, a.Topic)
	if err != nil {
		return nil, err
	}
	res["deleted"] = errName(dropped.Err)
	return res, nil
}
