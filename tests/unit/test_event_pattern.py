"""The `filter` matcher against EventBridge's own answers, case by case.

Three sources, each case saying which:
- DOC: the examples of AWS's "Content filtering in Amazon EventBridge event patterns" (now "Comparison operators for
  use in event patterns"), "Arrays in event patterns" and "Matching null values and empty strings" pages;
- AWS: what EventBridge's `TestEventPattern` answers for a pattern and an event (behaviour the pages leave open,
  recorded against the real service: anything-but on null and missing fields, empty prefixes, dotted keys, ...);
- RULER: aws/event-ruler's own tests, the matcher EventBridge runs (exists:false inside arrays).
Each case is (pattern, event, expected): True (matches), False (does not) or REFUSED (EventBridge refuses the
pattern). The matcher is generic: these events are whole EventBridge events, the hooks' payloads are OMS payloads.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from oms_webhooks.domain.event_pattern import (
    MAX_EXPANDED_VALUES,
    MAX_PATTERN_BYTES,
    MAX_VALUES,
    EventPattern,
    within_bounds,
)

REFUSED = "refused"

EC2 = {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "time": "2017-10-02T18:43:48Z"}


def detail(**fields: Any) -> dict[str, Any]:
    return {**EC2, "detail": fields}


CASES: list[tuple[str, dict[str, Any], Any, bool | str]] = [
    # --- DOC: matching values, arrays, null and empty strings -------------------------------------------------
    ("doc-equals", {"source": ["aws.ec2"]}, EC2, True),
    ("doc-equals-one-of", {"source": ["aws.ec2", "aws.fargate"]}, {"source": "aws.fargate"}, True),
    ("doc-equals-none-of", {"source": ["aws.ec2", "aws.fargate"]}, {"source": "aws.s3"}, False),
    ("doc-equals-case-sensitive", {"source": ["AWS.EC2"]}, EC2, False),
    ("doc-nested", {"detail": {"state": ["terminated"]}}, detail(state="terminated"), True),
    ("doc-nested-other", {"detail": {"state": ["terminated"]}}, detail(state="running"), False),
    ("doc-all-fields-must-match", {"source": ["aws.ec2"], "detail": {"state": ["x"]}}, detail(state="y"), False),
    ("doc-missing-field", {"detail": {"state": ["terminated"]}}, EC2, False),
    ("doc-array-intersects", {"resources": ["arn:b", "arn:c"]}, {"resources": ["arn:a", "arn:b"]}, True),
    ("doc-array-disjoint", {"resources": ["arn:b", "arn:c"]}, {"resources": ["arn:a"]}, False),
    ("doc-empty-string", {"detail": {"eventVersion": [""]}}, detail(eventVersion="", responseElements=None), True),
    ("doc-null", {"detail": {"responseElements": [None]}}, detail(eventVersion="", responseElements=None), True),
    ("doc-null-is-not-empty", {"detail": {"responseElements": [""]}}, detail(responseElements=None), False),
    ("doc-empty-is-not-null", {"detail": {"eventVersion": [None]}}, detail(eventVersion=""), False),
    ("doc-numbers", {"detail": {"severity": [1], "count": [2]}}, detail(severity=1, count=2), True),
    ("doc-boolean", {"detail": {"enabled": [False]}}, detail(enabled=False), True),
    # --- DOC: prefix, suffix, equals-ignore-case ------------------------------------------------------------------
    ("doc-prefix", {"time": [{"prefix": "2017-10-02"}]}, EC2, True),
    ("doc-prefix-other", {"time": [{"prefix": "2017-10-03"}]}, EC2, False),
    ("doc-prefix-ignore-case", {"source": [{"prefix": {"equals-ignore-case": "AWS.E"}}]}, EC2, True),
    ("doc-suffix", {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True),
    ("doc-suffix-case-sensitive", {"FileName": [{"suffix": ".PNG"}]}, {"FileName": "image.png"}, False),
    ("doc-suffix-ignore-case", {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"FileName": "a.PNG"}, True),
    (
        "doc-suffix-ignore-case-other",
        {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]},
        {"FileName": "a.jpg"},
        False,
    ),
    (
        "doc-equals-ignore-case",
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        EC2,
        True,
    ),
    ("doc-equals-ignore-case-other", {"detail-type": [{"equals-ignore-case": "I do not match"}]}, EC2, False),
    ("doc-equals-ignore-case-array", {"detail-type": [{"equals-ignore-case": "abc"}]}, {"detail-type": ["ABC"]}, True),
    # --- DOC: anything-but --------------------------------------------------------------------------------------
    ("doc-anything-but", {"detail": {"state": [{"anything-but": "initializing"}]}}, detail(state="pending"), True),
    (
        "doc-anything-but-same",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        detail(state="initializing"),
        False,
    ),
    ("doc-anything-but-number", {"detail": {"x-limit": [{"anything-but": 123}]}}, detail(**{"x-limit": 789}), True),
    (
        "doc-anything-but-number-same",
        {"detail": {"x-limit": [{"anything-but": 123}]}},
        detail(**{"x-limit": 123}),
        False,
    ),
    ("doc-anything-but-zero", {"detail": {"x-limit": [{"anything-but": 0}]}}, detail(**{"x-limit": 789}), True),
    (
        "doc-anything-but-list",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        detail(state="pending"),
        True,
    ),
    (
        "doc-anything-but-list-in",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        detail(state="stopped"),
        False,
    ),
    ("doc-anything-but-numbers", {"detail": {"x": [{"anything-but": [100, 200, 300]}]}}, detail(x=999), True),
    ("doc-anything-but-numbers-in", {"detail": {"x": [{"anything-but": [100, 200, 300]}]}}, detail(x=100), False),
    (
        "doc-anything-but-prefix",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        detail(state="post-init"),
        True,
    ),
    (
        "doc-anything-but-prefix-in",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        detail(state="init-x"),
        False,
    ),
    (
        "doc-anything-but-prefixes",
        {"detail": {"state": [{"anything-but": {"prefix": ["init", "error"]}}]}},
        detail(state="post-init"),
        True,
    ),
    (
        "doc-anything-but-prefixes-in",
        {"detail": {"state": [{"anything-but": {"prefix": ["init", "post"]}}]}},
        detail(state="post-init"),
        False,
    ),
    (
        "doc-anything-but-suffix",
        {"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}},
        detail(f="file.txt.bak"),
        True,
    ),
    (
        "doc-anything-but-suffix-in",
        {"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}},
        detail(f="file.txt"),
        False,
    ),
    (
        "doc-anything-but-suffixes",
        {"detail": {"f": [{"anything-but": {"suffix": [".txt", ".jpg"]}}]}},
        detail(f="a.bak"),
        True,
    ),
    (
        "doc-anything-but-suffixes-in",
        {"detail": {"f": [{"anything-but": {"suffix": [".txt", ".jpg"]}}]}},
        detail(f="a.jpg"),
        False,
    ),
    (
        "doc-anything-but-ignore-case",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}},
        detail(state="pending"),
        True,
    ),
    (
        "doc-anything-but-ignore-case-in",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}},
        detail(state="INITIALIZING"),
        False,
    ),
    (
        "doc-anything-but-ignore-case-list",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["a", "stopped"]}}]}},
        detail(state="pending"),
        True,
    ),
    (
        "doc-anything-but-ignore-case-list-in",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["a", "stopped"]}}]}},
        detail(state="Stopped"),
        False,
    ),
    (
        "doc-anything-but-wildcard",
        {"detail": {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        detail(path="dir/bin/file"),
        True,
    ),
    (
        "doc-anything-but-wildcard-in",
        {"detail": {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        detail(path="dir/lib/file"),
        False,
    ),
    (
        "doc-anything-but-wildcards",
        {"detail": {"p": [{"anything-but": {"wildcard": ["*/init/*", "*/dir/*"]}}]}},
        detail(p="dir/post/dir"),
        True,
    ),
    (
        "doc-anything-but-wildcards-in",
        {"detail": {"p": [{"anything-but": {"wildcard": ["*/init/*", "*/dir/*"]}}]}},
        detail(p="dir/init/dir"),
        False,
    ),
    # --- DOC: numeric ------------------------------------------------------------------------------------------
    (
        "doc-numeric",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        detail(**{"c-count": 5, "d-count": 3, "x-limit": 301.8}),
        True,
    ),
    (
        "doc-numeric-out-of-range",
        {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}]}},
        detail(**{"c-count": 42, "d-count": 9}),
        False,
    ),
    ("doc-numeric-open-bottom", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, detail(c=0), False),
    ("doc-numeric-closed-top", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, detail(c=5), True),
    ("doc-numeric-ge", {"detail": {"c": [{"numeric": [">=", 200, "<", 500]}]}}, detail(c=200), True),
    ("doc-numeric-lt-top", {"detail": {"c": [{"numeric": [">=", 200, "<", 500]}]}}, detail(c=500), False),
    # --- DOC: exists -------------------------------------------------------------------------------------------
    ("doc-exists", {"detail": {"state": [{"exists": True}]}}, detail(state="pending"), True),
    ("doc-exists-missing", {"detail": {"state": [{"exists": True}]}}, detail(**{"c-count": {"c1": 100}}), False),
    ("doc-exists-false", {"detail": {"c-count": [{"exists": False}]}}, detail(state="pending"), True),
    (
        "doc-exists-false-not-a-leaf",
        {"detail": {"c-count": [{"exists": False}]}},
        detail(**{"c-count": {"c1": 100}}),
        True,
    ),
    (
        "doc-exists-true-not-a-leaf",
        {"detail": {"c-count": [{"exists": True}]}},
        detail(**{"c-count": {"c1": 100}}),
        False,
    ),
    # --- DOC: wildcard -----------------------------------------------------------------------------------------
    (
        "doc-wildcard",
        {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
        {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"},
        True,
    ),
    (
        "doc-wildcard-other",
        {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
        {"EventBusArn": "arn:aws:events:eu-west-1:1:event-bus/b"},
        False,
    ),
    ("doc-wildcard-folder", {"FileName": [{"wildcard": "dir/*.png"}]}, {"FileName": "dir/a.png"}, True),
    ("doc-wildcard-folder-other", {"FileName": [{"wildcard": "dir/*.png"}]}, {"FileName": "other/a.png"}, False),
    ("doc-wildcard-escaped-star", {"s": [{"wildcard": "a\\*b"}]}, {"s": "a*b"}, True),
    ("doc-wildcard-escaped-star-literal", {"s": [{"wildcard": "a\\*b"}]}, {"s": "axb"}, False),
    ("doc-wildcard-escaped-backslash", {"s": [{"wildcard": "a\\\\*"}]}, {"s": "a\\bc"}, True),
    ("doc-wildcard-consecutive", {"s": [{"wildcard": "a**b"}]}, {"s": "ab"}, REFUSED),
    ("doc-wildcard-bad-escape", {"s": [{"wildcard": "a\\b"}]}, {"s": "ab"}, REFUSED),
    # --- DOC: complex, $or, repeated keys ---------------------------------------------------------------------------
    (
        "doc-complex",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
            },
        },
        detail(state="processing", **{"c-count": 3, "d-count": 9, "x-limit": 999}),
        True,
    ),
    (
        "doc-complex-one-fails",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
            },
        },
        detail(state="processing", **{"c-count": 3, "x-limit": 300}),
        False,
    ),
    (
        "doc-or",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },
        detail(**{"c-count": 0, "d-count": 0, "x-limit": 901.8}),
        True,
    ),
    (
        "doc-or-none",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },
        detail(**{"c-count": 0, "d-count": 10, "x-limit": 901.8}),
        False,
    ),
    (
        "doc-or-top-level",
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"},
        True,
    ),
    (
        "doc-or-and-inside",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPU"]}, {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES"},
        False,
    ),
    (
        "doc-or-nested",
        {
            "$or": [
                {"metricName": ["CPU"]},
                {"namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
            ]
        },
        {"namespace": "AWS/EC2", "spaceId": 1000},
        True,
    ),
    (
        "doc-or-parallel",
        {"$or": [{"a": ["1"]}, {"b": ["2"]}], "detail": {"$or": [{"c": ["3"]}, {"d": ["4"]}]}},
        {"b": "2", "detail": {"c": "3"}},
        True,
    ),
    (
        "doc-or-parallel-half",
        {"$or": [{"a": ["1"]}, {"b": ["2"]}], "detail": {"$or": [{"c": ["3"]}, {"d": ["4"]}]}},
        {"b": "2", "detail": {"e": "3"}},
        False,
    ),
    # --- AWS: answers of TestEventPattern beyond the pages' examples ----------------------------------------------
    ("aws-anything-but-null", {"detail": {"state": [{"anything-but": "initializing"}]}}, detail(state=None), True),
    ("aws-anything-but-missing", {"detail": {"state": [{"anything-but": "initializing"}]}}, detail(), False),
    (
        "aws-anything-but-list-null",
        {"detail": {"state": [{"anything-but": ["stopped", "running"]}]}},
        detail(state=None),
        True,
    ),
    (
        "aws-anything-but-list-missing",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        detail(),
        False,
    ),
    (
        "aws-anything-but-ignore-case-null",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "x"}}]}},
        detail(state=None),
        True,
    ),
    (
        "aws-anything-but-ignore-case-missing",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "x"}}]}},
        detail(),
        False,
    ),
    (
        "aws-anything-but-prefix-number",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        detail(state=12),
        True,
    ),
    (
        "aws-anything-but-prefixes-number",
        {"detail": {"state": [{"anything-but": {"prefix": ["init", "test"]}}]}},
        detail(state=12),
        True,
    ),
    (
        "aws-anything-but-prefix-null",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        detail(state=None),
        True,
    ),
    ("aws-anything-but-prefix-missing", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, detail(), False),
    ("aws-anything-but-suffix-null", {"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}}, detail(f=None), True),
    ("aws-anything-but-suffix-missing", {"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}}, detail(), False),
    (
        "aws-anything-but-wildcard-number",
        {"detail": {"p": [{"anything-but": {"wildcard": "*/dir/*"}}]}},
        detail(p=123),
        True,
    ),
    (
        "aws-anything-but-wildcard-null",
        {"detail": {"p": [{"anything-but": {"wildcard": "*/dir/*"}}]}},
        detail(p=None),
        True,
    ),
    (
        "aws-anything-but-wildcard-missing",
        {"detail": {"p": [{"anything-but": {"wildcard": "*/dir/*"}}]}},
        detail(),
        False,
    ),
    (
        "aws-anything-but-wildcard-empty",
        {"detail": {"p": [{"anything-but": {"wildcard": ""}}]}},
        detail(p="dir/init/file"),
        True,
    ),
    ("aws-anything-but-string-vs-number", {"n": [{"numeric": [">", 100]}, {"anything-but": "101"}]}, {"n": "42"}, True),
    (
        "aws-anything-but-string-vs-number-in",
        {"n": [{"numeric": [">", 100]}, {"anything-but": "101"}]},
        {"n": "101"},
        False,
    ),
    (
        "aws-anything-but-or-exists-false",
        {"h": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}},
        {"h": {"S": "ABCD", "N": "1"}},
        True,
    ),
    (
        "aws-exists-false-or-parent-missing",
        {"h": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}},
        {"p": {"N": "789"}},
        True,
    ),
    (
        "aws-exists-false-or-sibling",
        {"h": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}},
        {"h": {"N": "789"}},
        True,
    ),
    (
        "aws-operators-or-each-other",
        {"k": [{"exists": True}, {"prefix": "IGNORED"}, {"suffix": "IGNORED"}]},
        {"k": "my-value"},
        True,
    ),
    ("aws-prefix-empty", {"source": [{"prefix": ""}]}, {"source": "test-source"}, True),
    ("aws-suffix-empty", {"source": [{"suffix": ""}]}, {"source": "test-source"}, True),
    (
        "aws-prefix-ignore-case",
        {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]},
        {"service": "EvEnTbridge"},
        True,
    ),
    ("aws-equals-ignore-case-empty", {"v": [{"equals-ignore-case": ""}]}, {"v": ""}, True),
    ("aws-equals-ignore-case-empty-other", {"v": [{"equals-ignore-case": ""}]}, {"v": "test-value"}, False),
    ("aws-wildcard-once", {"f": [{"wildcard": "/Users/*/doc.txt"}]}, {"f": "/Users/u/dir/dir/dir/doc.txt"}, True),
    (
        "aws-wildcard-once-other",
        {"f": [{"wildcard": "/Users/*/doc.txt"}]},
        {"f": "/Users/u/dir/notmatchingdoc.txt"},
        False,
    ),
    (
        "aws-wildcard-repeating",
        {"f": [{"wildcard": "/Users/*/dir/dir/doc.txt"}]},
        {"f": "/Users/u/dir/dir/dir/doc.txt"},
        True,
    ),
    (
        "aws-wildcard-repeating-other",
        {"f": [{"wildcard": "/Users/*/dir/dir/doc.txt"}]},
        {"f": "/Users/u/dir/otherdir/doc.txt"},
        False,
    ),
    ("aws-wildcard-empty", {"f": [{"wildcard": ""}]}, {"f": "arn:aws:events"}, False),
    (
        "aws-wildcard-too-complex",
        {"f": [{"wildcard": "*:*:*:*:*:event-bus/*"}]},
        {"f": "a:b:c:d:e:event-bus/f"},
        REFUSED,
    ),
    ("aws-exists-empty-array", {"resources": [{"exists": True}]}, {"resources": []}, False),
    ("aws-null-in-empty-array", {"resources": [None]}, {"resources": []}, False),
    (
        "aws-exists-inside-array-element",
        {"detail": {"automations": {"id": [{"exists": True}]}}},
        detail(automations=[{"k": "v"}, {"id": "x"}, {"k2": "v"}]),
        True,
    ),
    (
        "aws-exists-not-on-intermediate",
        {"ddb": {"presentKey": [{"exists": True}]}},
        {"ddb": {"presentKey": {"S": "x"}}},
        False,
    ),
    (
        "aws-exists-on-leaf-below",
        {"ddb": {"presentKey": {"S": [{"exists": True}]}}},
        {"ddb": {"presentKey": {"S": "x"}}},
        True,
    ),
    (
        "aws-exists-false-deep",
        {"d": {"l1": {"l2": {"l3": {"l4": [{"exists": False}]}}}}},
        {"d": {"l1": {"l2": "v"}}},
        True,
    ),
    (
        "aws-exists-false-deep-present",
        {"d": {"l1": {"l2": {"l3": {"l4": [{"exists": False}]}}}}},
        {"d": {"l1": {"l2": {"l3": {"l4": "v"}}}}},
        False,
    ),
    ("aws-numeric-float-value", {"number": [{"numeric": [">", 100]}]}, {"number": 101.0}, True),
    ("aws-numeric-null", {"number": [{"numeric": [">", 100]}]}, {"number": None}, False),
    ("aws-numeric-string", {"number": [{"numeric": [">", 100]}]}, {"number": "300"}, False),
    ("aws-number-equals-float", {"number": [300]}, {"number": 300.0}, True),
    (
        "aws-string-exact",
        {"s": ["A CamelCase string with an emoji 🚀 and trailing whitespace "]},
        {"s": "A CamelCase string with an emoji 🚀 and trailing whitespace "},
        True,
    ),
    ("aws-key-case-sensitive", {"MY_KEY": ["v"]}, {"my_key": "v"}, False),
    ("aws-string-null-is-not-null", {"r": [None]}, {"r": "null"}, False),
    ("aws-json-in-a-string-is-text", {"detail": {"k": ["v"]}}, {"detail": '{"k": "v"}'}, False),
    (
        "aws-object-fields-of-one-leaf",
        {"img": {"homemade": {"N": ["1234"]}}},
        {"img": {"homemade": {"S": "ABCD", "N": "1234"}}},
        True,
    ),
    ("aws-dotted-pattern-key", {"detail": {"state.status": ["running"]}}, detail(state={"status": "running"}), True),
    (
        "aws-dotted-pattern-key-deeper",
        {"detail": {"state.status": {"status": ["running"]}}},
        detail(state={"status": "running"}),
        False,
    ),
    (
        "aws-repeated-key-last-wins",
        {"detail": {"location": [{"anything-but": "us-east"}]}},
        detail(location="eu-central-1"),
        True,
    ),
    ("aws-or-overrides-outer", {"a": ["1"], "$or": [{"a": ["2"]}, {"b": ["3"]}]}, {"a": "2"}, True),
    ("aws-or-overrides-outer-not-and", {"a": ["1"], "$or": [{"a": ["2"]}, {"b": ["3"]}]}, {"a": "1"}, False),
    (
        "aws-many-operators",
        {
            "source": [{"exists": True}],
            "detail-type": [{"prefix": "core.app"}],
            "detail": {
                "amount": [200],
                "salary": [2000, 4000],
                "admins": ["x", {"prefix": "hey"}, {"prefix": "ad"}],
                "t1": [{"anything-but": 200}],
                "t2": [{"anything-but": "test2"}],
                "t3": [{"anything-but": ["test3", "test33"]}],
                "t4": [{"anything-but": {"prefix": "test4"}}],
                "n1": [{"numeric": ["<", 200]}],
                "n2": [{"numeric": ["<=", 200]}],
                "n3": [{"numeric": [">", 200]}],
                "n4": [{"numeric": [">=", 200]}],
                "n5": [{"numeric": [">=", 200, "<=", 500]}],
                "n6": [{"numeric": [">", 200, "<", 500]}],
            },
        },
        {
            "source": "core",
            "detail-type": "core.app.backend",
            "detail": {
                "amount": 200,
                "salary": 2000,
                "admins": "admin",
                "t1": 300,
                "t2": "test22",
                "t3": "test333",
                "t4": "this test4",
                "n1": 100,
                "n2": 200,
                "n3": 300,
                "n4": 200,
                "n5": 500,
                "n6": 300,
            },
        },
        True,
    ),
    # --- RULER: arrays of objects are matched one element at a time --------------------------------------------------
    (
        "ruler-array-element",
        {"employees": {"firstName": ["Anna"]}},
        {"employees": [{"firstName": "John"}, {"firstName": "Anna"}]},
        True,
    ),
    (
        "ruler-nested-arrays",
        {"employees": {"firstName": ["Peter"]}},
        {"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]},
        True,
    ),
    (
        "ruler-array-same-element",
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        {"employees": [{"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]},
        True,
    ),
    (
        "ruler-array-not-across-elements",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        {"employees": [{"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]},
        False,
    ),
    (
        "ruler-exists-false-in-an-element",
        {"tasks": {"state": ["ACTIVE"], "ctx": {"name": [{"exists": False}]}}},
        {"tasks": [{"state": "ACTIVE"}, {"state": "IDLE", "ctx": [{"name": "x"}]}]},
        True,
    ),
    (
        "ruler-exists-false-in-the-element",
        {"tasks": {"state": ["ACTIVE"], "ctx": {"name": [{"exists": False}]}}},
        {"tasks": [{"state": "ACTIVE", "ctx": [{"name": "x"}]}, {"state": "IDLE"}]},
        False,
    ),
    # --- refused patterns (DOC and AWS: InvalidEventPatternException) -------------------------------------------
    ("refused-empty-array", {"resources": []}, {}, REFUSED),
    ("refused-bare-string", {"string": "my-value"}, {}, REFUSED),
    ("refused-bare-number", {"int": 42}, {}, REFUSED),
    ("refused-empty-object", {"detail": {}}, {}, REFUSED),
    ("refused-operator-case", {"k": [{"EXISTS": True}]}, {}, REFUSED),
    ("refused-numeric-case", {"k": [{"NUMERIC": ["=", 5]}]}, {}, REFUSED),
    ("refused-numeric-not-array", {"c": [{"numeric": 10}]}, {}, REFUSED),
    ("refused-numeric-two-lows", {"c": [{"numeric": [">", 0, ">", 0]}]}, {}, REFUSED),
    ("refused-numeric-no-top", {"c": [{"numeric": [">", 0, "<"]}]}, {}, REFUSED),
    ("refused-prefix-number", {"t": [{"prefix": 123}]}, {}, REFUSED),
    ("refused-prefix-list", {"t": [{"prefix": ["2022"]}]}, {}, REFUSED),
    ("refused-suffix-number", {"t": [{"suffix": 123}]}, {}, REFUSED),
    ("refused-suffix-list", {"t": [{"suffix": [".png"]}]}, {}, REFUSED),
    ("refused-wildcard-number", {"t": [{"wildcard": 123}]}, {}, REFUSED),
    ("refused-wildcard-list", {"t": [{"wildcard": ["a*"]}]}, {}, REFUSED),
    ("refused-ignore-case-list", {"t": [{"equals-ignore-case": ["a"]}]}, {}, REFUSED),
    ("refused-ignore-case-object", {"t": [{"equals-ignore-case": {"prefix": "a"}}]}, {}, REFUSED),
    ("refused-anything-but-null", {"s": [{"anything-but": None}]}, {}, REFUSED),
    ("refused-anything-but-list-null", {"s": [{"anything-but": ["stopped", None]}]}, {}, REFUSED),
    ("refused-anything-but-mixed", {"s": [{"anything-but": ["stopped", 1]}]}, {}, REFUSED),
    ("refused-anything-but-prefix-empty", {"s": [{"anything-but": {"prefix": ""}}]}, {}, REFUSED),
    ("refused-anything-but-suffix-empty", {"s": [{"anything-but": {"suffix": ""}}]}, {}, REFUSED),
    ("refused-anything-but-prefix-number", {"s": [{"anything-but": {"prefix": 123}}]}, {}, REFUSED),
    ("refused-anything-but-prefix-list-number", {"s": [{"anything-but": {"prefix": [123, "a"]}}]}, {}, REFUSED),
    ("refused-anything-but-suffix-list-null", {"s": [{"anything-but": {"suffix": [None, ".txt"]}}]}, {}, REFUSED),
    (
        "refused-anything-but-prefix-ignore-case",
        {"s": [{"anything-but": {"prefix": {"equals-ignore-case": "f"}}}]},
        {},
        REFUSED,
    ),
    ("refused-anything-but-ignore-case-number", {"s": [{"anything-but": {"equals-ignore-case": 123}}]}, {}, REFUSED),
    (
        "refused-anything-but-ignore-case-numbers",
        {"s": [{"anything-but": {"equals-ignore-case": [123, 456]}}]},
        {},
        REFUSED,
    ),
    ("refused-anything-but-wildcard-number", {"s": [{"anything-but": {"wildcard": 123}}]}, {}, REFUSED),
    ("refused-anything-but-wildcards-number", {"s": [{"anything-but": {"wildcard": [123, "*/d/*"]}}]}, {}, REFUSED),
    ("refused-exists-string", {"s": [{"exists": "yes"}]}, {}, REFUSED),
    ("refused-two-keys", {"s": [{"prefix": "a", "suffix": "b"}]}, {}, REFUSED),
    ("refused-or-one-member", {"$or": [{"a": ["1"]}]}, {}, REFUSED),
    ("refused-or-operator-field", {"$or": [{"numeric": ["1"]}, {"prefix": ["a"]}]}, {}, REFUSED),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_eventbridge_answers(pattern: dict[str, Any], event: Any, expected: bool | str) -> None:
    if expected == REFUSED:
        with pytest.raises(ValidationError):
            EventPattern.model_validate(pattern)
    else:
        assert EventPattern.model_validate(pattern).matches(event) is expected


def test_the_table_covers_every_operator_both_ways() -> None:
    """Each operator has a case that matches, one that does not, and one EventBridge refuses."""
    for operator in ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "$or"):
        outcomes = {expected for _, pattern, _, expected in CASES if f'"{operator}"' in repr(pattern).replace("'", '"')}
        assert outcomes == {True, False, REFUSED}, operator


# --- what EventBridge leaves to the service: the payload's own shape, and the bounds ------------------------------


def test_a_payload_that_is_an_array_matches_when_one_of_its_objects_does() -> None:
    pattern = EventPattern.model_validate({"channel": ["web"]})
    assert pattern.matches([{"channel": "shop"}, {"channel": "web"}])
    assert not pattern.matches([{"channel": "shop"}, 5, "web"])


def test_a_payload_key_with_a_dot_is_only_itself_unlike_eventbridge() -> None:
    """EventBridge also joins the *payload's* dotted keys (a behaviour its matcher says not to rely on); not here."""
    assert not EventPattern.model_validate({"state": {"status": ["running"]}}).matches({"state.status": "running"})


def test_numbers_that_no_double_holds_are_compared_only_as_written() -> None:
    big = 2**64 + 1
    assert EventPattern.model_validate({"n": [big]}).matches({"n": big})
    assert not EventPattern.model_validate({"n": [{"numeric": [">", 0]}]}).matches({"n": big})
    assert not EventPattern.model_validate({"n": [{"numeric": [">", 0]}]}).matches({"n": 10**400})
    assert not EventPattern.model_validate({"n": [True]}).matches({"n": 1})
    assert not EventPattern.model_validate({"n": [1]}).matches({"n": True})


def test_deeply_nested_arrays_in_a_payload_are_flattened_without_recursion() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    assert EventPattern.model_validate({"v": ["x"]}).matches({"v": deep})


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({"a": [{"prefix": "x" * MAX_PATTERN_BYTES}]}, f"no more than {MAX_PATTERN_BYTES} bytes"),
        ({"a": list(range(MAX_VALUES + 1))}, f"no more than {MAX_VALUES} match values"),
        ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": [1]}}}}}}}}}}}, "nests no more than 10"),
    ],
)
def test_written_patterns_are_bounded(pattern: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        within_bounds(EventPattern.model_validate(pattern))


def test_or_combinations_are_bounded_while_compiling() -> None:
    """Eleven `$or`s of three members would expand to 177,147 alternatives: refused long before that."""
    pattern = {f"k{i}": {"$or": [{"a": ["1"]}, {"b": ["2"]}, {"c": ["3"]}]} for i in range(11)}
    with pytest.raises(ValidationError, match=f"More than {MAX_EXPANDED_VALUES} match values once"):
        EventPattern.model_validate(pattern)


def test_a_pattern_within_the_bounds_is_kept_as_written() -> None:
    written = {"channel": ["web"], "$or": [{"total": [{"numeric": [">", 100]}]}, {"vip": [True]}]}
    pattern = within_bounds(EventPattern.model_validate(written))
    assert pattern.root == written and pattern == EventPattern.model_validate(written)
