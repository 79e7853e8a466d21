#!/bin/bash
# One-shot: a SCRAM user per service (password from KAFKA_<SERVICE>_PASSWORD) and
# exactly the ACLs of acls.tsv. Idempotent: re-running sets the same passwords and ACLs.
set -euo pipefail
bin=/opt/kafka/bin
bootstrap=kafka:9093
config=/tmp/admin.properties
/opt/spendstream-kafka/client-config.sh > "$config"
for service in ingestor anomaly rightsizing forecast gateway topics; do
  var="KAFKA_${service^^}_PASSWORD"
  password="${!var:?set $var}"
  "$bin/kafka-configs.sh" --bootstrap-server "$bootstrap" --command-config "$config" \
    --alter --entity-type users --entity-name "spendstream-${service}" \
    --add-config "SCRAM-SHA-512=[password=${password}]"
done
grep -v '^#' /opt/spendstream-kafka/acls.tsv | while IFS=$'\t' read -r principal resource pattern name operation; do
  "$bin/kafka-acls.sh" --bootstrap-server "$bootstrap" --command-config "$config" --add \
    --allow-principal "User:${principal}" --operation "$operation" \
    --resource-pattern-type "$pattern" "--${resource}" "$name"
done
