import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * An idempotent producer (acks=all, five requests in flight) writes COUNT keyed records with a
 * header to partition 0, then a consumer reads them back and the Admin client describes the
 * partition's producer state. Args: BOOTSTRAP TOPIC COUNT.
 */
public final class IdempotentProducer {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int count = Integer.parseInt(args[2]);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }

        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        p.put("max.in.flight.requests.per.connection", "5");
        p.put("linger.ms", "5");
        p.put("batch.size", "200"); // several batches in flight at once
        List<Long> offsets = new ArrayList<>();
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ProducerRecord<String, String> r = new ProducerRecord<>(topic, 0, "k" + i, "v" + i);
                r.headers().add("n", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                sent.add(producer.send(r));
            }
            for (Future<RecordMetadata> f : sent) offsets.add(f.get().offset());
        }
        Out.line("event", "produced", "offsets", offsets);

        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        List<Long> read = new ArrayList<>();
        List<String> keys = new ArrayList<>(), values = new ArrayList<>(), headers = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 30_000;
            while (read.size() < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    read.add(r.offset());
                    keys.add(r.key());
                    values.add(r.value());
                    Header h = r.headers().lastHeader("n");
                    headers.add(new String(h.value(), StandardCharsets.UTF_8));
                }
            }
        }
        Out.line("event", "consumed", "offsets", read, "keys", keys, "values", values, "headers", headers);

        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            for (ProducerState s : admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers()) {
                Out.line("event", "producer", "producerId", s.producerId(), "epoch", s.producerEpoch(),
                        "lastSequence", s.lastSequence(), "transactional", s.currentTransactionStartOffset().isPresent());
            }
        }
    }
}
