"""Where webhooks may go: public addresses only, unless the owner lists a network.

A subscription URL is owner input that the delivery worker turns into connections from the
shop's own machine, inside its network. Without a rule, ``http://127.0.0.1:5432``,
``http://169.254.169.254/`` (a cloud's metadata service) or the router's admin page become
reachable through the worker (server-side request forgery). So:

* A destination must be a public (globally routable unicast) address. Loopback, private,
  shared (CGNAT), link-local, multicast, reserved, documentation and unspecified addresses are
  refused, also when they hide inside an IPv6 address (IPv4-mapped, IPv4-compatible, 6to4,
  Teredo, NAT64).
* The check runs on **every address a name resolves to, at every delivery**, and the worker
  then connects to the address it vetted (``resolve`` once, connect to that: a DNS answer
  that changes between the check and the connection, "DNS rebinding", changes nothing).
* IP literals are read the way the system resolver reads them (``AI_NUMERICHOST``), so every
  spelling it accepts (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``[::1]``,
  ``[::ffff:7f00:1]``...) is the address it means. They are refused when the subscription is
  made, as are names that always mean this machine (``localhost``, ``*.localhost``).
* An on-premises receiver (an ERP on the shop's LAN, a script on the same machine) is allowed
  by listing its network in ``COMPTOIR_WEBHOOK_ALLOWED_NETWORKS`` (CIDRs). Unspecified and
  multicast addresses are never allowed: no HTTP server answers there.

Nothing here speaks HTTP; ``store_api.webhooks.worker`` does, through :func:`vet`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo's signature, so tests can stand in for DNS.
Resolver = Callable[..., list[tuple[Any, ...]]]

ALLOW_SETTING = "COMPTOIR_WEBHOOK_ALLOWED_NETWORKS"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# Names the resolver answers with this machine whatever DNS says (RFC 6761).
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class DestinationRefused(ValueError):
    """This URL may not receive webhooks. ``reason`` is short and safe to store and show:
    it names the kind of address, never the address a name resolved to. ``permanent`` is
    false for what may pass later (a DNS lookup that failed)."""

    def __init__(self, reason: str, *, permanent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from the setting (``192.168.1.0/24``, ``127.0.0.1``...); a typo is an error."""
    networks = []
    for value in values:
        text = value.strip()
        if text:
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValueError(f"{ALLOW_SETTING}: {text!r} is not a network") from None
    return tuple(networks)


@dataclass(frozen=True)
class DestinationPolicy:
    """Which addresses deliveries may connect to: public ones, plus ``allowed_networks``."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DestinationPolicy:
        return cls(parse_networks(config.get("WEBHOOK_ALLOWED_NETWORKS") or ()))

    def refusal(self, address: IPAddress) -> str | None:
        """Why deliveries may not connect to ``address``, or None when they may."""
        address = _plain(address)
        if address.is_unspecified:
            return "unspecified address"
        if address.is_multicast:
            return "multicast address"
        if any(address in network for network in self.allowed_networks):
            return None
        kind = non_public_kind(address)
        return None if kind is None else f"{kind} address"


def _plain(address: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv6 one (mapped, compatible, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = int(address)
    if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d, the old IPv4-compatible form
        return ipaddress.IPv4Address(packed)
    return address


def non_public_kind(address: IPAddress) -> str | None:
    """'loopback', 'private'... for an address the public Internet cannot reach; else None."""
    address = _plain(address)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared (carrier-grade NAT)", address in _SHARED),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("non-public", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def ip_literal(host: str) -> IPAddress | None:
    """The address an IP literal means, in any spelling the system resolver accepts."""
    text = host.strip("[]").rstrip(".")
    if not text:
        return None
    try:
        infos = socket.getaddrinfo(text, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(str(infos[0][4][0]).split("%")[0])


def _split(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url)
        # Names go on the wire (Host, SNI) in their ASCII form.
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except (ValueError, UnicodeError):
        raise DestinationRefused("invalid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise DestinationRefused("only http and https URLs are delivered to")
    if not host:
        raise DestinationRefused("the URL has no host")
    return parts, host, port


def check_url(url: str, policy: DestinationPolicy) -> None:
    """Refuse, when a subscription is made or changed, what can already be refused.

    IP literals and local names are decided here; other names are resolved and checked at
    every delivery (:func:`vet`), since what they resolve to may change at any time.
    """
    parts, host, _port = _split(url)
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(
            "credentials in the URL are not sent; authenticate with the signature"
        )
    name = host.rstrip(".").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        if policy.refusal(ipaddress.ip_address("127.0.0.1")) is not None:
            raise DestinationRefused(f"{host} is this machine (loopback address)")
        return
    address = ip_literal(host)
    if address is None:
        return
    reason = policy.refusal(address)
    if reason is not None:
        raise DestinationRefused(f"{host} is not a public address ({reason})")


@dataclass(frozen=True)
class Destination:
    """A vetted URL: connect to ``addresses`` (in order), speak to ``host`` (Host, SNI)."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent on the request line
    addresses: Sequence[tuple[int, tuple[Any, ...]]]  # (family, sockaddr) pairs


def vet(url: str, policy: DestinationPolicy, resolve: Resolver = socket.getaddrinfo) -> Destination:
    """Resolve the URL's host once and check every address; all must be allowed.

    One refused address refuses the URL: a name answering both a public and a private
    address is the classic rebinding set-up, and the connection must never try the second.
    """
    parts, host, port = _split(url)
    try:
        infos = resolve(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise DestinationRefused("DNS lookup failed", permanent=False) from None
    addresses: list[tuple[int, tuple[Any, ...]]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        reason = policy.refusal(address)
        if reason is not None:
            raise DestinationRefused(f"destination not allowed: resolves to a {reason}")
        addresses.append((family, sockaddr))
    if not addresses:
        raise DestinationRefused("DNS lookup failed", permanent=False)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(parts.scheme.lower(), host, port, target, addresses)
