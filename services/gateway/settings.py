"""The gateway's settings: the only place that knows its environment names.

Its own fields are named ``gateway_*`` and so read ``SPENDSTREAM_GATEWAY_*``
variables (e.g. ``SPENDSTREAM_GATEWAY_HTTP_PORT``), like every service's;
connection settings shared by all services keep their ``SPENDSTREAM_*`` names.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from services.gateway.delivery.egress import EgressPolicy
from services.gateway.secretbox import SecretKeyError, check_key
from shared.settings import SpendstreamSettings

# An operator token shorter than this is guessable; 32 characters of token_urlsafe are 192 bits.
OPERATOR_TOKEN_MIN = 32


class GatewaySettings(SpendstreamSettings):
    """Frozen settings for one gateway process."""

    service_name: str = "gateway"

    # HTTP: loopback by default; containers set 0.0.0.0 explicitly.
    gateway_http_host: str = "127.0.0.1"
    # 8000: the port docker-compose and the Kubernetes manifests expose.
    gateway_http_port: int = 8000

    # PostgreSQL schema (search_path) holding the gateway's tables; tests use one per test.
    gateway_pg_schema: str = "gateway"
    # Two connections cover the consumer and the delivery loop; ten serve a busy API.
    gateway_db_pool_min: int = 2
    gateway_db_pool_max: int = 10
    # A statement that takes longer than this is a bug or an outage: fail it, retry later.
    gateway_db_command_timeout_s: float = 30.0
    # Ceiling of the backoff between database retries during an outage (tenacity).
    gateway_db_retry_max_wait_s: float = 5.0

    gateway_consumer_group: str = "gateway"
    # Run the Kafka consumer and the delivery loops inside the API process.
    gateway_run_consumer: bool = True
    gateway_run_delivery: bool = True

    # Request bodies are small JSON documents; 64 KiB is generous and bounds memory.
    gateway_body_max_bytes: int = 64 * 1024
    # A request body slower than this (a slowloris on the body) is answered 408.
    gateway_body_timeout_s: float = 10.0
    # The request head (line + headers) must arrive within this; a real client sends it
    # in one packet, a slowloris never finishes. Idle keep-alive connections close after
    # gateway_http_keep_alive_s (uvicorn's default). Beyond gateway_http_limit_concurrency
    # connections and tasks at once uvicorn answers 503, so one replica cannot run out
    # of file descriptors.
    gateway_http_header_timeout_s: float = 10.0
    gateway_http_keep_alive_s: int = 5
    gateway_http_limit_concurrency: int = 1000
    # The request line and headers together; 16 KiB is uvicorn's default and fits any browser.
    gateway_http_max_head_bytes: int = 16 * 1024
    # Per-key token bucket: sustained requests/s and burst size.
    gateway_rate_limit_per_s: float = 50.0
    gateway_rate_limit_burst: int = 100
    # Per-tenant bucket over all its keys, charged too: minting keys buys no more
    # of a replica than one tenant's share.
    gateway_tenant_rate_limit_per_s: float = 100.0
    gateway_tenant_rate_limit_burst: int = 200
    # Failed authentications per client address: a script with a typo gets 20 tries at
    # once, a key guesser one per second; beyond that 429 before any database work.
    gateway_auth_failure_per_s: float = 1.0
    gateway_auth_failure_burst: int = 20
    # A request waits this long for a free database connection, then gets 503 +
    # Retry-After: well above a normal query, far below a client's patience.
    gateway_db_acquire_timeout_s: float = 2.0

    # Webhooks: exponential backoff with full jitter, capped, given up after N tries.
    gateway_webhook_max_attempts: int = 8
    gateway_webhook_backoff_base_s: float = 1.0
    gateway_webhook_backoff_max_s: float = 300.0
    # A receiver that takes longer than this (resolve, connect, send, answer: the whole
    # attempt) is treated as down for this attempt, so a slow one cannot hold a sender.
    gateway_webhook_timeout_s: float = 5.0
    # Webhooks go to https and to public addresses only. Operators may allow plain http
    # and internal receivers explicitly (CIDRs, e.g. '["10.20.0.0/16"]'); tests allow loopback.
    gateway_webhook_allow_http: bool = False
    gateway_webhook_allow_networks: tuple[str, ...] = ()
    # How long a claimed delivery stays invisible to other workers (> timeout).
    gateway_delivery_lease_s: float = 30.0
    # Poll interval of the fan-out and delivery loops: alerts reach receivers within it.
    gateway_delivery_poll_s: float = 0.5
    # Deliveries in flight at once per process: bounds concurrent outbound requests.
    gateway_delivery_batch: int = 50
    # Of those, at most this many for one tenant: a tenant whose receivers are slow
    # (each send can take gateway_webhook_timeout_s) fills only its own share.
    gateway_delivery_per_tenant: int = 10

    # Server-Sent Events / WebSocket: poll the outbox this often; heartbeat to keep proxies open.
    gateway_stream_poll_s: float = 0.5
    gateway_stream_heartbeat_s: float = 15.0
    # Open streams per key (a dashboard and a few tabs) and per process (each is a task and
    # a socket); beyond them 429. Keys are re-checked this often, so a revoked key or a
    # removed account stops streaming within it.
    gateway_stream_max_per_key: int = 5
    gateway_stream_max: int = 500
    gateway_stream_recheck_s: float = 30.0

    # Operators (not tenants) read dead letters, metrics and the API docs with this bearer
    # token; unset closes those endpoints. Mint one with `python -c "import secrets;
    # print(secrets.token_urlsafe(32))"`.
    gateway_operator_token: SecretStr | None = None

    # Quotas per tenant: each budget is watched by the forecast service and each
    # subscription receives every matching alert; feedback retunes detectors, so it is a
    # rate (a person clicks a few times a minute; a burst covers a bulk review).
    gateway_budgets_max_per_tenant: int = 200
    # A budget covers its tenant's accounts; when those change, the budget is re-published
    # with the new coverage within this many seconds (0 turns the check off). A minute is
    # far below a month-end projection's pace and costs one small query.
    gateway_budget_sync_s: float = Field(60.0, ge=0)
    gateway_subscriptions_max_per_tenant: int = 50
    gateway_feedback_per_s: float = 1.0
    gateway_feedback_burst: int = 100

    # SNS: the endpoint is configurable so moto or LocalStack can stand in for AWS.
    gateway_sns_endpoint_url: str | None = None
    # Topics outside the tenants' own accounts that tenants may still publish to
    # (e.g. a shared notifications account); full ARNs, set by operators.
    gateway_sns_allow_topic_arns: tuple[str, ...] = ()
    gateway_aws_region: str = Field("us-east-1", description="Region for the SNS client.")

    # --- API docs exposure (issue 12 #18) ---
    # The OpenAPI document maps every route and parameter: by default only the operator
    # token reads /openapi.json and the browser viewers (/docs, /redoc) are not served.
    # true opens all three anonymously (the demo, local development).
    gateway_docs_public: bool = False

    # --- Webhook signing secrets (issue 12 #20) ---
    # Subscription secrets are sealed at rest with this Fernet key; the gateway will not
    # start without one. Placeholders and malformed keys are refused here. Mint one with
    # `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
    gateway_secrets_key: SecretStr | None = None
    # After POST /v1/subscriptions/{id}/rotate-secret the previous secret still signs
    # (a second signature) this long: a day lets a receiver roll out its new secret.
    gateway_webhook_secret_overlap_s: float = Field(24 * 3600.0, ge=0, le=30 * 24 * 3600)

    def require_secrets_key(self) -> str:
        """The key that seals webhook secrets, or a clear error saying which variable to set."""
        if self.gateway_secrets_key is None:
            raise SecretKeyError(
                "SPENDSTREAM_GATEWAY_SECRETS_KEY is not set: webhook secrets are stored sealed "
                "with it; `spendstream dev up` writes one to stack.env"
            )
        return self.gateway_secrets_key.get_secret_value()

    def egress_policy(self) -> EgressPolicy:
        """Which webhook destinations this gateway may call."""
        return EgressPolicy.of(self.gateway_webhook_allow_http, self.gateway_webhook_allow_networks)

    @model_validator(mode="after")
    def _check_operator_token(self) -> GatewaySettings:
        try:
            self.egress_policy()
        except ValueError as exc:
            raise ValueError(f"SPENDSTREAM_GATEWAY_WEBHOOK_ALLOW_NETWORKS: {exc}") from exc
        if self.gateway_secrets_key is not None:
            try:
                check_key(self.gateway_secrets_key.get_secret_value())
            except SecretKeyError as exc:
                raise ValueError(str(exc)) from exc
        token = (
            self.gateway_operator_token.get_secret_value() if self.gateway_operator_token else None
        )
        if token is not None and ("changethis" in token or len(token) < OPERATOR_TOKEN_MIN):
            raise ValueError(
                f"SPENDSTREAM_GATEWAY_OPERATOR_TOKEN must be at least {OPERATOR_TOKEN_MIN} random "
                "characters (not a placeholder); mint one with secrets.token_urlsafe(32)"
            )
        return self
