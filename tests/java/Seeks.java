import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Ten records with timestamps T0, T0+1s, ... T0+9s, then a consumer seeks by offset, by time
 * (offsetsForTimes), to the end and the beginning; the Admin client lists offsets by spec.
 * Args: BOOTSTRAP TOPIC T0.
 */
public final class Seeks {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        long t0 = Long.parseLong(args[2]);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                Map.of("bootstrap.servers", bootstrap), new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, 0, t0 + 1000L * i, "k" + i, "v" + i)).get();
            }
        }
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, 6);
            Out.line("event", "seek_offset", "first", first(consumer));

            Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(Map.of(tp, t0 + 3500));
            OffsetAndTimestamp at = found.get(tp);
            consumer.seek(tp, at.offset());
            Out.line("event", "seek_time", "offset", at.offset(), "timestamp", at.timestamp() - t0,
                    "first", first(consumer));
            Map<TopicPartition, OffsetAndTimestamp> none = consumer.offsetsForTimes(Map.of(tp, t0 + 60_000));
            Out.line("event", "seek_time_past_end", "found", none.get(tp) != null);

            consumer.seekToEnd(List.of(tp));
            long end = consumer.position(tp);
            consumer.seekToBeginning(List.of(tp));
            long begin = consumer.position(tp);
            Out.line("event", "seek_ends", "end", end, "beginning", begin,
                    "endOffsets", consumer.endOffsets(List.of(tp)).get(tp),
                    "beginningOffsets", consumer.beginningOffsets(List.of(tp)).get(tp));
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            for (Map.Entry<String, OffsetSpec> spec : Map.of(
                    "earliest", OffsetSpec.earliest(), "latest", OffsetSpec.latest(),
                    "max_timestamp", OffsetSpec.maxTimestamp(),
                    "for_timestamp", OffsetSpec.forTimestamp(t0 + 2000)).entrySet()) {
                ListOffsetsResultInfo info = admin.listOffsets(Map.of(tp, spec.getValue())).partitionResult(tp).get();
                Out.line("event", "list_offsets", "spec", spec.getKey(), "offset", info.offset(),
                        "timestamp", info.timestamp() < 0 ? info.timestamp() : info.timestamp() - t0);
            }
        }
    }

    static String first(KafkaConsumer<String, String> consumer) {
        long deadline = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) return r.value();
        }
        return null;
    }
}
