import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Admin client against one broker: cluster, topics, partitions, configs, offsets, delete
 * records, consumer group offsets, features and log dirs; one JSON line per answer.
 * Args: BOOTSTRAP TOPIC GROUP.
 */
public final class AdminOps {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2];
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            DescribeClusterResult cluster = admin.describeCluster();
            Collection<Node> nodes = cluster.nodes().get();
            Out.line("event", "cluster", "nodes", nodes.size(), "controller", cluster.controller().get().id(),
                    "clusterIdLength", cluster.clusterId().get().length());
            int broker = nodes.iterator().next().id();

            NewTopic spec = new NewTopic(topic, 3, (short) 1).configs(Map.of("retention.ms", "3600000"));
            admin.createTopics(List.of(spec)).all().get();
            eventually(() -> admin.listTopics().names().get().contains(topic));
            Out.line("event", "create_again", "error", error(() ->
                    admin.createTopics(List.of(spec), new CreateTopicsOptions().validateOnly(true)).all().get()));
            Out.line("event", "listed", "found", admin.listTopics().names().get().contains(topic));
            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
            eventually(() -> admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic)
                    .partitions().size() == 4);
            TopicDescription described = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            Out.line("event", "described", "partitions", described.partitions().size(),
                    "leaders", described.partitions().stream().map(p -> p.leader().id()).distinct().toList(),
                    "internal", described.isInternal());

            ConfigResource topicResource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Out.line("event", "topic_config", "retention.ms", entry(admin, topicResource, "retention.ms"));
            admin.incrementalAlterConfigs(Map.of(topicResource, List.of(
                    new AlterConfigOp(new ConfigEntry("segment.ms", "7200000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)))).all().get();
            eventually(() -> entry(admin, topicResource, "segment.ms").get("value").equals("7200000"));
            Out.line("event", "topic_config_altered", "retention.ms", entry(admin, topicResource, "retention.ms"),
                    "segment.ms", entry(admin, topicResource, "segment.ms"));
            ConfigResource brokerResource = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(broker));
            Out.line("event", "broker_config", "log.segment.bytes", entry(admin, brokerResource, "log.segment.bytes"));

            TopicPartition tp = new TopicPartition(topic, 0);
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                    Map.of("bootstrap.servers", bootstrap), new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 10; i++) producer.send(new ProducerRecord<>(topic, 0, 1000L + i, "k", "v" + i));
            }
            Out.line("event", "offsets", "earliest", offset(admin, tp, OffsetSpec.earliest()),
                    "latest", offset(admin, tp, OffsetSpec.latest()),
                    "max_timestamp", offset(admin, tp, OffsetSpec.maxTimestamp()));
            long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get()
                    .lowWatermark();
            Out.line("event", "deleted_records", "low_watermark", low, "earliest", offset(admin, tp, OffsetSpec.earliest()),
                    "beyond_end", error(() -> admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(11)))
                            .all().get()));

            admin.alterConsumerGroupOffsets(group, Map.of(tp, new OffsetAndMetadata(7))).all().get();
            Out.line("event", "group_listed", "found", groupIds(admin).contains(group),
                    "state", admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get()
                            .groupState().toString(),
                    "offsets", committed(admin, group));
            admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition(topic, 1), new OffsetAndMetadata(0)))
                    .all().get();
            admin.deleteConsumerGroupOffsets(group, Set.of(tp)).all().get();
            Out.line("event", "group_offset_deleted", "offsets", committed(admin, group));
            admin.deleteConsumerGroups(List.of(group)).all().get();
            Out.line("event", "group_deleted", "found", groupIds(admin).contains(group));

            FeatureMetadata features = admin.describeFeatures().featureMetadata().get();
            Map<String, Short> finalized = new TreeMap<>();
            features.finalizedFeatures().forEach((k, v) -> finalized.put(k, v.maxVersionLevel()));
            Out.line("event", "features", "finalized", finalized,
                    "supported", new ArrayList<>(new TreeMap<>(features.supportedFeatures()).keySet()));

            Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(broker)).allDescriptions().get()
                    .get(broker);
            LogDirDescription dir = dirs.values().iterator().next();
            ReplicaInfo replica = dir.replicaInfos().get(tp);
            Out.line("event", "log_dirs", "dirs", dirs.size(), "error", dir.error() == null ? null : Out.error(dir.error()),
                    "partitions", dir.replicaInfos().keySet().stream().filter(p -> p.topic().equals(topic)).count(),
                    "size_positive", replica != null && replica.size() > 0);

            admin.deleteTopics(List.of(topic)).all().get();
            eventually(() -> !admin.listTopics().names().get().contains(topic));
            Out.line("event", "deleted", "found", admin.listTopics().names().get().contains(topic));
        }
    }

    interface Call { void run() throws Exception; }

    interface Condition { boolean holds() throws Exception; }

    /**
     * Kafka's brokers learn of topic changes from the controller a moment after the Admin call
     * returns (kpy has no such lag): wait up to 15 s for the change to show.
     */
    static void eventually(Condition condition) throws Exception {
        long end = System.currentTimeMillis() + 15_000;
        while (!condition.holds() && System.currentTimeMillis() < end) Thread.sleep(50);
    }

    static String error(Call call) {
        try {
            call.run();
            return null;
        } catch (Exception e) {
            return Out.error(e);
        }
    }

    static Map<String, Object> entry(Admin admin, ConfigResource resource, String name) throws Exception {
        Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        ConfigEntry e = config.get(name);
        Map<String, Object> out = new TreeMap<>();
        out.put("value", e.value());
        out.put("source", e.source().toString());
        return out;
    }

    static long offset(Admin admin, TopicPartition tp, OffsetSpec spec) throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get().offset();
    }

    static List<String> groupIds(Admin admin) throws Exception {
        return admin.listGroups().all().get().stream().map(GroupListing::groupId).toList();
    }

    static Map<String, Long> committed(Admin admin, String group) throws Exception {
        Map<String, Long> out = new TreeMap<>();
        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                .forEach((tp, om) -> out.put(tp.toString(), om.offset()));
        return out;
    }
}
