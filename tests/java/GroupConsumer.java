import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Two consumers of one group with group.protocol PROTOCOL (classic or consumer) on a topic of
 * two partitions: the first gets both and reads all ten records, commits; the second joins and
 * the partitions are shared out; the Admin client describes the group and its offsets.
 * Args: BOOTSTRAP TOPIC GROUP PROTOCOL.
 */
public final class GroupConsumer {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2], protocol = args[3];
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
        }
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                Map.of("bootstrap.servers", bootstrap), new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 10; i++) producer.send(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i));
        }
        long deadline = System.currentTimeMillis() + 60_000;
        try (KafkaConsumer<String, String> first = consumer(bootstrap, group, protocol, "first");
                KafkaConsumer<String, String> second = consumer(bootstrap, group, protocol, "second")) {
            first.subscribe(List.of(topic));
            List<String> values = new ArrayList<>();
            while (values.size() < 10 && System.currentTimeMillis() < deadline) {
                first.poll(Duration.ofMillis(100)).forEach(r -> values.add(r.value()));
            }
            first.commitSync();
            Out.line("event", "first", "assigned", names(first.assignment()), "values", new TreeSet<>(values));

            second.subscribe(List.of(topic));
            while (System.currentTimeMillis() < deadline
                    && (first.assignment().size() != 1 || second.assignment().size() != 1)) {
                ConsumerRecords<String, String> a = first.poll(Duration.ofMillis(100));
                ConsumerRecords<String, String> b = second.poll(Duration.ofMillis(100));
                if (!a.isEmpty() || !b.isEmpty()) throw new IllegalStateException("records read twice");
            }
            Set<String> both = new TreeSet<>(names(first.assignment()));
            both.addAll(names(second.assignment()));
            Out.line("event", "shared", "first", names(first.assignment()), "second", names(second.assignment()),
                    "both", both);

            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).describedGroups()
                        .get(group).get();
                Out.line("event", "described", "type", d.type().toString(), "state", d.groupState().toString(),
                        "members", d.members().size());
                Map<TopicPartition, OffsetAndMetadata> offsets =
                        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                Map<String, Long> byPartition = new TreeMap<>();
                offsets.forEach((tp, om) -> byPartition.put(tp.toString(), om.offset()));
                Out.line("event", "offsets", "committed", byPartition);
            }
        }
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, String group, String protocol, String id) {
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("group.id", group);
        c.put("group.protocol", protocol);
        c.put("client.id", id);
        c.put("auto.offset.reset", "earliest");
        c.put("enable.auto.commit", "false");
        return new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
    }

    static List<String> names(Set<TopicPartition> partitions) {
        List<String> out = new ArrayList<>();
        for (TopicPartition tp : partitions) out.add(tp.toString());
        out.sort(null);
        return out;
    }
}
