// Maven Central here serves connect-file (FileStreamSource/Sink) up to 4.3.1, whose connectors
// report their version through org.apache.kafka.common.utils.AppInfoParser; Kafka 4.4 moved
// that class to org.apache.kafka.common.utils.internals. This class, on the Connect worker's
// class path in tests/integration/test_kafka_connect.py, answers the one call they make.
package org.apache.kafka.common.utils;

public final class AppInfoParser {
    private AppInfoParser() {}

    public static String getVersion() {
        return org.apache.kafka.common.utils.internals.AppInfoParser.getVersion();
    }
}
