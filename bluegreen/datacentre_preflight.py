"""The preflight of the data-centre leg: where ``datacentre_link`` is on, every value the datacentre-link
and datacentre-dms stacks are given must be real, not the placeholders config/config.yaml ships.

Pure over the group-config values (bluegreen.preflight.problems calls it); each message names the key,
shows the value and says what to do. Where the link is "off" only the switch itself is checked: the
stacks do not exist there, so their values do not matter.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping

from bluegreen.cfn import DATACENTRE_CIDR_SLOTS

LINKS = ("off", "vpn", "transit-gateway")
#: The data centre's networks config/config.yaml ships: placeholders until someone writes the real ones.
PLACEHOLDER_CIDRS = ["10.0.0.0/14", "192.168.0.0/16"]
#: Names reserved for documentation (RFC 2606, RFC 6761): never a real data centre's host.
RESERVED_DOMAIN = re.compile(r"(^|\.)(example\.(com|net|org)|example|invalid|test|localhost)$", re.IGNORECASE)
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
TRANSIT_GATEWAY = re.compile(r"^tgw-[0-9a-f]{8,17}$")
#: The AWS side's ASN (the datacentre-link stack's AmazonSideAsn default): BGP needs the two ends to differ.
AMAZON_SIDE_ASN = 64512
WHERE = "config/config.yaml (or --var)"


class PreflightError(ValueError):
    """A data-centre value that is wrong or still a placeholder (bluegreen.preflight reports it with the rest)."""


def _on(values: Mapping[str, object]) -> str:
    link = values.get("datacentre_link")
    if link not in LINKS:
        raise PreflightError(f"datacentre_link must be one of {', '.join(LINKS)}, got {link!r}: set it in "
                             f"config/{values.get('environment')}/config.yaml")
    return str(link)


def check_cidrs(cidrs: object) -> None:
    if not isinstance(cidrs, list) or not cidrs:
        raise PreflightError(f"datacentre_cidrs is empty: the link routes to the data centre's networks; list them in {WHERE}")
    if [str(c) for c in cidrs] == PLACEHOLDER_CIDRS:
        raise PreflightError(f"datacentre_cidrs is still the placeholder {PLACEHOLDER_CIDRS}: write the data centre's real "
                             f"networks in {WHERE} before the link is turned on")
    if len(cidrs) > DATACENTRE_CIDR_SLOTS:
        raise PreflightError(f"datacentre_cidrs has {len(cidrs)} networks; the datacentre-link stack routes to at most "
                             f"{DATACENTRE_CIDR_SLOTS} (summarise them into fewer, larger networks)")


def check_host(host: object) -> None:
    if not isinstance(host, str) or not HOST.match(host):
        raise PreflightError(f"datacentre_db_host must be the DNS name on the data centre MySQL's certificate, got {host!r}")
    if RESERVED_DOMAIN.search(host):
        raise PreflightError(f"datacentre_db_host {host!r} is a placeholder (a documentation domain): set the data centre "
                             f"MySQL writer's name in {WHERE}")


def check_port(port: object) -> None:
    if not str(port).isdigit() or not 1 <= int(str(port)) <= 65535:
        raise PreflightError(f"datacentre_db_port must be a TCP port (1-65535), got {port!r}")


def check_vpn(address: object, asn: object) -> None:
    try:
        ip = ipaddress.IPv4Address(str(address))
    except ValueError:
        raise PreflightError(f"datacentre_vpn_customer_gateway_ip must be the data centre VPN device's IPv4 address, "
                             f"got {address!r}") from None
    if not ip.is_global:
        raise PreflightError(f"datacentre_vpn_customer_gateway_ip {address!r} is not a public address (a placeholder or "
                             f"a private one): set the static public address of the data centre's VPN device in {WHERE}")
    if not str(asn).isdigit() or not 1 <= int(str(asn)) <= 2_147_483_647 or int(str(asn)) == AMAZON_SIDE_ASN:
        raise PreflightError(f"datacentre_vpn_bgp_asn must be the data centre device's BGP ASN (1-2147483647, not the "
                             f"AWS side's {AMAZON_SIDE_ASN}), got {asn!r}")


def check_transit_gateway(gateway: object) -> None:
    if not isinstance(gateway, str) or not TRANSIT_GATEWAY.match(gateway):
        raise PreflightError(f"datacentre_transit_gateway_id must be an existing Transit Gateway's ID (tgw-...) where "
                             f"datacentre_link is transit-gateway, got {gateway!r}: set it in {WHERE}")


def checks(values: Mapping[str, object]) -> list[Callable[[], object]]:
    """The checks to run for ``values`` (zero-argument callables raising PreflightError)."""
    found: list[Callable[[], object]] = [lambda: _on(values)]
    link = values.get("datacentre_link")
    if link not in LINKS[1:]:
        return found
    found += [
        lambda: check_cidrs(values.get("datacentre_cidrs")),
        lambda: check_host(values.get("datacentre_db_host")),
        lambda: check_port(values.get("datacentre_db_port")),
    ]
    if link == "vpn":
        found.append(lambda: check_vpn(values.get("datacentre_vpn_customer_gateway_ip"), values.get("datacentre_vpn_bgp_asn")))
    else:
        found.append(lambda: check_transit_gateway(values.get("datacentre_transit_gateway_id")))
    return found
