import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A transactional producer commits "a","b", aborts "c", then commits "d" together with an offset
 * of GROUP (sendOffsetsToTransaction); read_committed and read_uncommitted consumers read the
 * partition back; a second producer with the same transactional.id fences the first.
 * Args: BOOTSTRAP TOPIC TRANSACTIONAL_ID GROUP.
 */
public final class Transactions {
    @SuppressWarnings("removal") // ConsumerGroupMetadata(String): a group without a consumer
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], txnId = args[2], group = args[3];
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        KafkaProducer<String, String> producer = producer(bootstrap, txnId);
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, 0, "k", "a"));
        producer.send(new ProducerRecord<>(topic, 0, "k", "b"));
        producer.commitTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, 0, "k", "c"));
        producer.flush();
        producer.abortTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, 0, "k", "d"));
        producer.sendOffsetsToTransaction(
                Map.of(tp, new OffsetAndMetadata(42)), new ConsumerGroupMetadata(group));
        producer.commitTransaction();
        Out.line("event", "client", "transactionsV2", transactionsV2(producer));

        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            TransactionDescription d = admin.describeTransactions(List.of(txnId)).description(txnId).get();
            Out.line("event", "described", "state", d.state().toString(), "epoch", d.producerEpoch(),
                    "partitions", d.topicPartitions().size());
            OffsetAndMetadata committed =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().get(tp);
            Out.line("event", "group_offset", "offset", committed == null ? null : committed.offset());
        }
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            List<Long> offsets = new ArrayList<>();
            List<String> values = new ArrayList<>();
            long end;
            Properties c = new Properties();
            c.put("bootstrap.servers", bootstrap);
            c.put("isolation.level", isolation);
            try (KafkaConsumer<String, String> consumer =
                    new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                end = consumer.endOffsets(List.of(tp)).get(tp);
                long deadline = System.currentTimeMillis() + 30_000;
                while (consumer.position(tp) < end && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        offsets.add(r.offset());
                        values.add(r.value());
                    }
                }
            }
            Out.line("event", "consumed", "isolation", isolation, "offsets", offsets, "values", values, "end", end);
        }

        try (KafkaProducer<String, String> zombie = producer(bootstrap, txnId)) {
            zombie.initTransactions(); // bumps the epoch: the first producer is now a zombie
            try {
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(topic, 0, "k", "e")).get();
                producer.commitTransaction();
                Out.line("event", "fenced", "error", null);
            } catch (Exception e) {
                Out.line("event", "fenced", "error", Out.error(e));
            }
        } finally {
            producer.close(Duration.ZERO);
        }
    }

    static KafkaProducer<String, String> producer(String bootstrap, String txnId) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("transactional.id", txnId);
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    /** The client's own choice, made from the broker's finalized transaction.version. */
    static boolean transactionsV2(KafkaProducer<?, ?> producer) throws ReflectiveOperationException {
        Field f = KafkaProducer.class.getDeclaredField("transactionManager");
        f.setAccessible(true);
        Object manager = f.get(producer);
        return (Boolean) manager.getClass().getMethod("isTransactionV2Enabled").invoke(manager);
    }
}
