"""What a hostile address or server cannot make a fetch do: reach the agency's own network, or run past its deadline.

A link handed to the bot is untrusted input. Resolving it and checking the addresses, then letting the HTTP
client resolve it again, leaves a gap (DNS rebinding: the second answer may be 127.0.0.1). So the check lives in
the socket layer the HTTP client uses: every connection (the first and each redirect hop) resolves its host once,
refuses the host if ANY address is non-public, and connects to exactly the addresses it checked.

The same layer enforces the fetch's overall deadline. httpx timeouts are per operation, so a server that trickles
a byte every few seconds would never trip them; here every connect, TLS handshake, read and write gets at most
the time that remains. (Name resolution itself is bounded only by the system resolver's own timeouts.)
"""

from __future__ import annotations

import enum
import ipaddress
import socket
import time

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes that carry an IPv4 address inside: the IPv4 address decides where the packet really goes.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressClass(enum.Enum):
    """Why an address is not public; the value is how the refusal names it."""

    UNSPECIFIED = "unspecified"
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    PRIVATE = "private"
    RESERVED = "reserved"
    NON_GLOBAL = "not globally reachable"


def classify_address(address: IPAddress | str) -> AddressClass | None:
    """The non-public class of an address, or None for a public one.

    IPv4 addresses embedded in IPv6 (::ffff:10.0.0.1, 6to4, NAT64) are judged by the IPv4 address, which is where
    a connection to them ends up.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = (
            ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        )
        if embedded is not None:
            return classify_address(embedded)
    if ip.is_unspecified:
        return AddressClass.UNSPECIFIED
    if ip.is_loopback:
        return AddressClass.LOOPBACK
    if ip.is_link_local:
        return AddressClass.LINK_LOCAL
    if ip.is_multicast:
        return AddressClass.MULTICAST
    if ip.is_reserved:  # before private: Python counts 240.0.0.0/4 as both
        return AddressClass.RESERVED
    if ip.is_private:
        return AddressClass.PRIVATE
    if not ip.is_global:
        return AddressClass.NON_GLOBAL  # e.g. 100.64.0.0/10, the carrier-grade NAT range
    return None


class AddressRefused(Exception):
    """A host that resolves to a non-public address; the fetch turns it into a FetchError naming the address."""

    def __init__(self, host: str, address: IPAddress, address_class: AddressClass) -> None:
        self.host = host
        self.address = address
        self.address_class = address_class
        where = host if _is_literal(host, address) else f"{host} resolves to {address}"
        super().__init__(f"refused as a private address: {where} ({address_class.value})")


def _is_literal(host: str, address: IPAddress) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")) == address
    except ValueError:
        return False


class Unresolvable(Exception):
    """A host name the resolver does not know."""

    def __init__(self, host: str, detail: str) -> None:
        self.host = host
        super().__init__(f"cannot resolve host name '{host}' ({detail})")


def check_addresses(host: str, addresses: list[IPAddress]) -> None:
    """Refuse the host when any of its addresses is non-public: the client could connect to any one of them."""
    for address in addresses:
        found = classify_address(address)
        if found is not None:
            raise AddressRefused(host, address, found)


def resolve(host: str, port: int) -> list[IPAddress]:
    """All addresses of a host, in the resolver's order of preference, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolvable(host, exc.strerror or str(exc)) from None
    except UnicodeError:
        raise Unresolvable(host, "invalid host name") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        text = sockaddr[0]
        if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(text, str):
            continue
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(host, "no IPv4 or IPv6 address")
    return addresses


def dial(address: IPAddress, port: int, timeout: float) -> httpcore.NetworkStream:
    """A plain TCP connection to one checked address (never a name, so nothing is resolved a second time)."""
    return httpcore.SyncBackend().connect_tcp(str(address), port, timeout=timeout, socket_options=[])


class Deadline:
    """The end of a whole fetch, shared by every connection it makes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def clamp(self, timeout: float | None, error: type[Exception]) -> float:
        """The timeout for one socket operation: never beyond the deadline; `error` once it has passed."""
        left = self.remaining()
        if left <= 0:
            raise error(f"the {self.seconds:g} s deadline has passed")
        return left if timeout is None else min(timeout, left)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket layer with the address check and the deadline (see the module docstring)."""

    def __init__(self, *, allow_private: bool, deadline: Deadline) -> None:
        self._allow_private = allow_private
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options=None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        if not self._allow_private:
            check_addresses(host, addresses)
        failure: Exception | None = None
        for address in addresses:  # like socket.create_connection: the next address when one is unreachable
            try:
                stream = dial(address, port, self._deadline.clamp(timeout, httpcore.ConnectTimeout))
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure if failure is not None else httpcore.ConnectError(f"no address to connect to for {host}")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options=None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("fetching over Unix sockets is not supported")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(self._deadline.remaining(), 0.0)))


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        tls = self._stream.start_tls(
            ssl_context, server_hostname=server_hostname, timeout=self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)
