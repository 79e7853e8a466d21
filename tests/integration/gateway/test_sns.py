"""SNS delivery through boto3 against moto's server mode (a real HTTP endpoint, no patching)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import boto3
import orjson
import pytest

from devstack.ports import accepts_connections, free_port
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for, wait_for_async
from tests.integration.gateway.helpers import auth, running_gateway
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: accepts_connections(port, 0.2), description="moto server up")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_alert_published_to_sns(
    make_settings: Callable[..., GatewaySettings], moto_url: str
) -> None:
    sns = boto3.client("sns", region_name=REGION, endpoint_url=moto_url)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_url)
    topic_arn = sns.create_topic(Name="finops-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    settings = make_settings(
        gateway_run_delivery=True, gateway_sns_endpoint_url=moto_url, gateway_aws_region=REGION
    )
    async with running_gateway(settings) as gw:
        # moto's account: a tenant may publish only to topics in its own accounts.
        key = await gw.tenant("acme", [MOTO_ACCOUNT])
        created = await gw.client.post(
            "/v1/subscriptions",
            json={"name": "sns", "channel": "sns", "sns_topic_arn": topic_arn},
            headers=auth(key),
        )
        assert created.status_code == 201, created.text
        alert = f.anomaly("inc-1", severity="critical", account=MOTO_ACCOUNT)
        await gw.store([alert])

        def received() -> list[dict[str, object]]:
            messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get(
                "Messages", []
            )
            return [orjson.loads(m["Body"]) for m in messages]

        [envelope] = await wait_for_async(received, description="SNS message in SQS")
        path = f"/v1/subscriptions/{created.json()['id']}/deliveries"

        async def delivered() -> bool:
            items = (await gw.get(path, key)).json()["items"]
            return bool(items) and items[0]["status"] == "delivered"

        await wait_for_async(delivered, description="delivery logged as delivered")
    body = orjson.loads(str(envelope["Message"]))
    assert (body["event_id"], body["severity"]) == (alert.id, "critical")
    attributes = envelope["MessageAttributes"]
    assert isinstance(attributes, dict)
    assert attributes["severity"]["Value"] == "critical"
