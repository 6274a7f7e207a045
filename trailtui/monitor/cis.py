"""The CIS AWS Foundations Benchmark's CloudTrail monitoring controls (v1.2 section 3, v1.4+
section 4; AWS Security Hub CloudWatch.1-14), each as a filter of trailtui's language that
compiles (filter/metric.py) to the benchmark's metric filter pattern. They are built-in
bookmarks (``cis-root-use``...), so the same filter can be explored before it becomes an
alarm (``trailtui alarm create --preset cis``).

The benchmark's patterns compare case-sensitively, as these do once compiled. Two differences
from its text, both in the direction of trailtui's negations: ``-invokedby:*`` also counts a
null or empty invokedBy (the benchmark: NOT EXISTS), and ``-mfa:Yes`` also counts a sign-in
with no MFAUsed at all (the benchmark: ``!= "Yes"``, false when missing).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Control:
    name: str  # the bookmark's name, also the alarm's (trailtui-cis-...)
    control: str  # Security Hub control id; CIS v1.4 number
    title: str
    filter: str


def _names(*names: str) -> str:
    return "name:" + ",".join(names)


CIS: tuple[Control, ...] = (
    Control(
        "cis-root-use",
        "CloudWatch.1 / CIS 4.3",
        "Usage of the root user",
        "usertype:Root -invokedby:* -eventtype:AwsServiceEvent",
    ),
    Control(
        "cis-unauthorized-calls",
        "CloudWatch.2 / CIS 4.1",
        "Unauthorized API calls",
        "error:*UnauthorizedOperation,AccessDenied*",
    ),
    Control(
        "cis-console-no-mfa",
        "CloudWatch.3 / CIS 4.2",
        "Console sign-in without MFA",
        "name:ConsoleLogin -mfa:Yes usertype:IAMUser login:Success",
    ),
    Control(
        "cis-iam-policy-changes",
        "CloudWatch.4 / CIS 4.4",
        "IAM policy changes",
        _names(
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ),
    ),
    Control(
        "cis-cloudtrail-changes",
        "CloudWatch.5 / CIS 4.5",
        "CloudTrail configuration changes",
        _names("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"),
    ),
    Control(
        "cis-console-auth-failures",
        "CloudWatch.6 / CIS 4.6",
        "Console sign-in failures",
        'name:ConsoleLogin errmsg:"Failed authentication"',
    ),
    Control(
        "cis-cmk-disable-delete",
        "CloudWatch.7 / CIS 4.7",
        "Disabling or scheduled deletion of customer managed keys",
        "source:kms.amazonaws.com " + _names("DisableKey", "ScheduleKeyDeletion"),
    ),
    Control(
        "cis-s3-policy-changes",
        "CloudWatch.8 / CIS 4.8",
        "S3 bucket policy changes",
        "source:s3.amazonaws.com "
        + _names(
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ),
    ),
    Control(
        "cis-config-changes",
        "CloudWatch.9 / CIS 4.9",
        "AWS Config configuration changes",
        "source:config.amazonaws.com "
        + _names(
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        ),
    ),
    Control(
        "cis-security-group-changes",
        "CloudWatch.10 / CIS 4.10",
        "Security group changes",
        _names(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ),
    ),
    Control(
        "cis-nacl-changes",
        "CloudWatch.11 / CIS 4.11",
        "Network ACL changes",
        _names(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ),
    ),
    Control(
        "cis-network-gateway-changes",
        "CloudWatch.12 / CIS 4.12",
        "Network gateway changes",
        _names(
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ),
    ),
    Control(
        "cis-route-table-changes",
        "CloudWatch.13 / CIS 4.13",
        "Route table changes",
        "source:ec2.amazonaws.com "
        + _names(
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ),
    ),
    Control(
        "cis-vpc-changes",
        "CloudWatch.14 / CIS 4.14",
        "VPC changes",
        _names(
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ),
    ),
)

PRESETS: dict[str, tuple[Control, ...]] = {"cis": CIS}
