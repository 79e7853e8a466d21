#!/bin/bash
# Format the KRaft log once with the admin SCRAM user (SCRAM users live in the
# metadata log, so the first one must be added at format time), then start.
# Secrets come from the environment (see docker-compose.yml), never from files here.
set -euo pipefail
: "${KAFKA_CLUSTER_ID:?}" "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_SSL_KEYSTORE_PASSWORD:?}"
props=/tmp/server.properties
cp /opt/spendstream-kafka/server.properties "$props"
{
  echo "ssl.keystore.password=${KAFKA_SSL_KEYSTORE_PASSWORD}"
  echo "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"spendstream-admin\" password=\"${KAFKA_ADMIN_PASSWORD}\";"
} >> "$props"
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format -t "$KAFKA_CLUSTER_ID" -c "$props" \
    --add-scram "SCRAM-SHA-512=[name=spendstream-admin,password=${KAFKA_ADMIN_PASSWORD}]"
fi
/opt/spendstream-kafka/client-config.sh > /tmp/admin.properties
exec /opt/kafka/bin/kafka-server-start.sh "$props"
