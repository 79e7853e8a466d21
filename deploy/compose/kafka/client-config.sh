#!/bin/bash
# Print an admin client config (SASL_SSL as spendstream-admin) for the Kafka CLI tools.
set -euo pipefail
cat <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="spendstream-admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/certs/ca.crt
PROPS
