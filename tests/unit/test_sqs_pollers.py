"""The local SQS event source mapping starts as many pollers as the template's ScalingConfig lets Lambda invoke."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oms_webhooks_cli.local.triggers import MOST_SQS_POLLERS, SQS_POLLERS, sqs_pollers
from oms_webhooks_cli.template import Template

QUEUE = "arn:aws:sqs:us-east-1:123456789012:retries"


@pytest.mark.parametrize(
    ("props", "pollers"),
    [
        ({"Queue": QUEUE}, SQS_POLLERS),
        ({"Queue": QUEUE, "ScalingConfig": {}}, SQS_POLLERS),
        ({"Queue": QUEUE, "ScalingConfig": {"MaximumConcurrency": 2}}, 2),
        ({"Queue": QUEUE, "ScalingConfig": {"MaximumConcurrency": "5"}}, 5),  # a template parameter is a string
        ({"Queue": QUEUE, "ScalingConfig": {"MaximumConcurrency": 1000}}, MOST_SQS_POLLERS),
    ],
)
def test_pollers_are_the_maximum_concurrency_up_to_the_local_cap(props: dict[str, Any], pollers: int) -> None:
    assert sqs_pollers(props) == pollers


@pytest.mark.parametrize("maximum", [1, 1001, "many"])
def test_a_maximum_concurrency_lambda_refuses_is_refused_naming_the_queue(maximum: Any) -> None:
    with pytest.raises(ValueError, match=r"ScalingConfig\.MaximumConcurrency of .*retries"):
        sqs_pollers({"Queue": QUEUE, "ScalingConfig": {"MaximumConcurrency": maximum}})


def test_the_maximum_concurrency_is_read_through_a_template_parameter(tmp_path: Path) -> None:
    template_path = tmp_path / "template.yaml"
    template_path.write_text(
        """
Parameters:
  RetrierConcurrency: {Type: Number, Default: 4}
Resources:
  Retries: {Type: AWS::SQS::Queue}
  Retrier:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/retrier
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Retries.Arn
            ScalingConfig:
              MaximumConcurrency: !Ref RetrierConcurrency
"""
    )
    [(_, _, default)] = Template(template_path).triggers("SQS")
    [(_, _, given)] = Template(template_path, parameters={"RetrierConcurrency": "6"}).triggers("SQS")
    assert (sqs_pollers(default), sqs_pollers(given)) == (4, 6)
