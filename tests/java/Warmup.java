import java.util.Map;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Loads what every Kafka tool and client program loads (the Admin client, a producer, a
 * consumer, no broker needed) and the tools' main classes, named as args: run once with
 * -XX:ArchiveClassesAtExit to dump the class archive the tests' JVMs share.
 */
public final class Warmup {
    public static void main(String[] args) throws Exception {
        Map<String, Object> config = Map.of("bootstrap.servers", "127.0.0.1:9", "group.id", "warmup");
        try (Admin admin = Admin.create(config);
                KafkaProducer<String, String> producer =
                        new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
                KafkaConsumer<String, String> consumer =
                        new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            for (String tool : args) Class.forName(tool);
        }
    }
}
