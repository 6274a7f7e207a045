"""Monitoring: saved filters that become CloudWatch metric filters and alarms (alarms.py), and
the CIS AWS Foundations Benchmark's CloudTrail monitoring set (cis.py)."""
