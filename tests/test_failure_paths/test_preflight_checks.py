"""The pure checks of bluegreen/preflight.py, one behaviour per test, messages pinned."""

import re
import socket

import pytest

from bluegreen.preflight import (
    PreflightError,
    check_certificate_arn,
    check_datacentre_cidrs,
    check_endpoint,
    check_suffix,
    check_vpc_cidr,
    problems,
)

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
DATACENTRE = ["10.0.0.0/14", "192.168.0.0/16"]
GOOD = {"environment": "dev", "suffix": "d01", "vpc_cidr": "10.40.0.0/16", "certificate_arn": "",
        "datacentre_cidrs": DATACENTRE}


def refuse(address, timeout):
    raise ConnectionRefusedError(111, "Connection refused")


class Answered:
    def __init__(self):
        self.calls = []

    def __call__(self, address, timeout):
        self.calls.append((address, timeout))
        return socket.socket()  # closed straight away by the check


@pytest.mark.parametrize("suffix", ["d01", "p01", "ab", "abcdefgh", "0123"])
def test_check_suffix__lower_case_letters_and_digits__accepted(suffix):
    check_suffix(suffix)


@pytest.mark.parametrize("suffix", ["D01", "d-01", "d_01", "d01!", "a", "abcdefghi", "", "dé1", None, 101])
def test_check_suffix__capitals_symbols_or_length__refused_showing_the_value(suffix):
    with pytest.raises(PreflightError, match=r"environment_suffix must be 2 to 8 lower-case letters or digits "
                                             r"\(\^\[a-z0-9\]\{2,8\}\$.*got " + re.escape(repr(suffix))):
        check_suffix(suffix)


@pytest.mark.parametrize("cidr", ["10.40.0.0/16", "10.40.0.0/20", "172.16.5.0/24"])
def test_check_vpc_cidr__disjoint_16_to_24__accepted(cidr):
    assert str(check_vpc_cidr(cidr, other_environments={"prod": "10.50.0.0/16"}, datacentre_cidrs=DATACENTRE)) == cidr


@pytest.mark.parametrize("cidr,message", [
    ("10.40.0.0/33", r"vpc_cidr must be an IPv4 network like 10.40.0.0/16 .*got '10.40.0.0/33'"),
    ("10.40.1.0/16", r"got '10.40.1.0/16': 10.40.1.0/16 has host bits set"),
    ("not-a-cidr", r"got 'not-a-cidr'"),
    ("fd00::/56", r"got 'fd00::/56'"),
    (None, r"vpc_cidr must be an IPv4 network like 10.40.0.0/16, got None"),
])
def test_check_vpc_cidr__not_an_ipv4_network__refused(cidr, message):
    with pytest.raises(PreflightError, match=message):
        check_vpc_cidr(cidr)


@pytest.mark.parametrize("cidr", ["10.40.0.0/15", "10.0.0.0/8", "10.40.0.0/25", "10.40.0.0/28"])
def test_check_vpc_cidr__prefix_outside_16_to_24__refused(cidr):
    with pytest.raises(PreflightError, match=rf"vpc_cidr must be a /16 to /24 network .*got '{cidr}'"):
        check_vpc_cidr(cidr)


def test_check_vpc_cidr__overlaps_other_environment__refused_naming_it():
    with pytest.raises(PreflightError, match=r"vpc_cidr '10.50.128.0/20' overlaps the prod environment's "
                                             r"vpc_cidr '10.50.0.0/16': give each environment its own"):
        check_vpc_cidr("10.50.128.0/20", other_environments={"prod": "10.50.0.0/16"})


def test_check_vpc_cidr__other_environment_invalid__left_to_its_own_preflight():
    assert str(check_vpc_cidr("10.40.0.0/16", other_environments={"qa": "bogus"})) == "10.40.0.0/16"


@pytest.mark.parametrize("cidr,datacentre", [("10.2.0.0/16", "10.0.0.0/14"), ("192.168.10.0/24", "192.168.0.0/16")])
def test_check_vpc_cidr__overlaps_datacentre__refused_because_dms_and_vpn(cidr, datacentre):
    with pytest.raises(PreflightError, match=rf"vpc_cidr '{cidr}' overlaps the data centre network '{datacentre}' "
                                             r"\(datacentre_cidrs\): DMS and the VPN need them disjoint"):
        check_vpc_cidr(cidr, datacentre_cidrs=DATACENTRE)


@pytest.mark.parametrize("value,message", [
    ("10.0.0.0/14", r"datacentre_cidrs must be a list of IPv4 networks .*got '10.0.0.0/14'"),
    (["10.0.0.0/14", 5], r"got \['10.0.0.0/14', 5\]"),
    (["10.0.0.1/14"], r"datacentre_cidrs: '10.0.0.1/14' is not an IPv4 network"),
])
def test_check_datacentre_cidrs__malformed__refused(value, message):
    with pytest.raises(PreflightError, match=message):
        check_datacentre_cidrs(value)


@pytest.mark.parametrize("environment,arn", [("prod", CERT), ("dev", CERT), ("dev", ""),
                                             ("prod", CERT.replace("arn:aws:", "arn:aws-us-gov:"))])
def test_check_certificate_arn__acm_arn_or_empty_outside_prod__accepted(environment, arn):
    check_certificate_arn(environment, arn)


@pytest.mark.parametrize("arn", ["", None])
def test_check_certificate_arn__missing_in_prod__refused_saying_where_to_set_it(arn):
    with pytest.raises(PreflightError, match=r"certificate_arn is empty in prod: set it in config/prod/config.yaml "
                                             r"to the company's ACM certificate ARN"):
        check_certificate_arn("prod", arn)


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:server-certificate/pay",       # IAM, not ACM
    "arn:aws:acm:us-east-1:1234:certificate/abc",             # account is not 12 digits
    "0a1b2c3d-4e5f-6789-abcd-ef0123456789",                   # an ID, not an ARN
])
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_check_certificate_arn__not_an_acm_arn__refused_showing_the_value(environment, arn):
    with pytest.raises(PreflightError, match=r"certificate_arn must be an ACM certificate ARN .*got "
                                             + re.escape(repr(arn))):
        check_certificate_arn(environment, arn)


@pytest.mark.parametrize("url", ["http://127.0.0.1:5100", "http://localhost:5100/"])
def test_check_endpoint__local_port_closed__refused_saying_how_to_start_it(url):
    with pytest.raises(PreflightError) as raised:
        check_endpoint(url, connect=refuse)
    assert str(raised.value) == (f"the local AWS emulator is not running at {url}: start it with "
                                 "`scripts/emulator start` (or unset AWS_ENDPOINT_URL to use AWS)")


def test_check_endpoint__local_port_answers__accepted_after_one_short_connect():
    connect = Answered()
    check_endpoint("http://127.0.0.1:5100", connect=connect)
    assert connect.calls == [(("127.0.0.1", 5100), 0.5)]


@pytest.mark.parametrize("url", [None, "", "https://cloudformation.us-east-1.amazonaws.com"])
def test_check_endpoint__unset_or_remote__not_probed(url):
    check_endpoint(url, connect=refuse)


def test_check_endpoint__real_closed_port__refused_within_a_second():
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(PreflightError, match=r"the local AWS emulator is not running at "):
            check_endpoint(url)


def test_problems__good_values__none():
    assert problems(GOOD, other_environments={"prod": "10.50.0.0/16"}) == []


def test_problems__several_bad_values__all_reported_in_order():
    bad = {**GOOD, "environment": "prod", "suffix": "P01", "vpc_cidr": "10.50.0.0/16"}
    found = problems(bad, other_environments={"dev": "10.50.0.0/16"}, endpoint_url="http://127.0.0.1:1",
                     connect=refuse)
    assert [message.split(" ")[:2] for message in found] == [
        ["the", "local"], ["environment_suffix", "must"], ["vpc_cidr", "'10.50.0.0/16'"], ["certificate_arn", "is"],
    ]


# -- the trust store of both ALBs' mutual TLS -----------------------------------------------------------
def test_check_client_trust_store__dev_with_its_committed_bundle__accepted():
    from pathlib import Path

    from bluegreen.preflight import check_client_trust_store

    root = str(Path(__file__).resolve().parents[2])
    check_client_trust_store("dev", "mtls/client-ca-bundle-dev.pem", "config/dev/mtls/client-ca-bundle.pem", root)
    check_client_trust_store("dev", "mtls/client-ca-bundle-dev.pem", "", root)  # someone uploads it: the hook checks


@pytest.mark.parametrize("environment,key,file,message", [
    ("dev", "", "", "client_ca_bundle_key is empty: both ALBs' mutual TLS needs a trust store"),
    ("prod", "mtls/client-ca-bundle.pem", "", "client_ca_bundle_file is empty in prod"),
    ("prod", "mtls/client-ca-bundle.pem", "config/prod/mtls/missing.pem", "does not exist"),
    ("dev", "mtls/x.pem", "README.md", "holds no PEM certificate"),
])
def test_check_client_trust_store__missing_or_not_a_ca_bundle__refused(environment, key, file, message, tmp_path):
    from pathlib import Path

    from bluegreen.preflight import check_client_trust_store

    root = str(Path(__file__).resolve().parents[2])
    with pytest.raises(PreflightError, match=message):
        check_client_trust_store(environment, key, file, root)


def test_check_client_trust_store__a_leaf_certificate_not_a_ca__refused(tmp_path):
    from bluegreen.preflight import check_client_trust_store
    from bluegreen.rehearsal.pki import CertificateAuthority

    leaf = CertificateAuthority(tmp_path).client("m-1")
    with pytest.raises(PreflightError, match="is not a CA certificate"):
        check_client_trust_store("dev", "mtls/x.pem", leaf.cert.name, str(tmp_path))
