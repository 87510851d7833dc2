"""The fetcher against a real HTTP server on a loopback address: redirects, limits, politeness, SSRF."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from newsbot.index.fetch import (
    BlockedURLError,
    Fetcher,
    FetchTimeoutError,
    HTTPStatusError,
    RateLimitedError,
    RobotsDisallowedError,
    TooLargeError,
    TooManyRedirectsError,
)
from newsbot.index.fetch.net import (
    AddressPolicy,
    BlockedAddress,
    GuardedResolver,
    address_problem,
    check_url,
    guarded_socket_factory,
)
from newsbot.index.fetch.politeness import retry_after_seconds

from .fetch_server import LoopbackServer, fast_settings


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as srv:
        yield srv


async def test_redirect_chain_is_followed_hop_by_hop(server: LoopbackServer) -> None:
    server.redirect("/a", "/b", 301)
    server.redirect("/b", server.url("/c"), 308)
    server.add("/c", "<p>here</p>", etag='"v1"')
    async with Fetcher(fast_settings()) as f:
        resp = await f.get(server.url("/a"))
    assert resp.status == 200 and resp.body == b"<p>here</p>" and resp.url == server.url("/c")
    assert [s for s, _ in resp.redirects] == [301, 308] and resp.moved_to == server.url("/c")
    assert resp.etag == '"v1"' and resp.content_type == "text/html" and resp.charset == "utf-8"


async def test_too_many_redirects_and_loops(server: LoopbackServer) -> None:
    for i in range(6):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    server.add("/r6", "end")
    server.redirect("/x", "/y")
    server.redirect("/y", "/x")
    async with Fetcher(fast_settings(max_redirects=3)) as f:
        with pytest.raises(TooManyRedirectsError, match=r"more than 3 redirects"):
            await f.get(server.url("/r0"), what="feed")
        with pytest.raises(TooManyRedirectsError, match=r"redirect loop"):
            await f.get(server.url("/x"))
    assert server.hits["/r4"] == 0, "stops at the cap"


async def test_429_retry_after_is_waited_once_when_short(server: LoopbackServer) -> None:
    calls = 0

    async def busy_then_ok(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text="finally")

    server.handler("/busy", busy_then_ok)
    server.add("/long", "", status=503, headers={"Retry-After": "3600"})
    async with Fetcher(fast_settings()) as f:
        started = time.monotonic()
        resp = await f.get(server.url("/busy"))
        assert resp.body == b"finally" and time.monotonic() - started >= 0.9 and calls == 2
        with pytest.raises(RateLimitedError) as caught:
            await f.get(server.url("/long"), what="feed")
    assert caught.value.retry_after == 3600 and server.hits["/long"] == 1
    assert "asks to wait 60 min" in str(caught.value) and str(caught.value).startswith("feed http://")


def test_retry_after_forms() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


async def test_slow_server_times_out(server: LoopbackServer) -> None:
    server.slow("/slow", 1.2)
    async with Fetcher(fast_settings(read_timeout_seconds=0.3, total_timeout_seconds=0.8)) as f:
        started = time.monotonic()
        with pytest.raises(FetchTimeoutError, match=r"did not answer in time"):
            await f.get(server.url("/slow"))
    assert time.monotonic() - started < 2


async def test_gzip_bomb_stops_at_the_cap(server: LoopbackServer) -> None:
    sent = server.gzip_bomb("/bomb", 64 * 1024 * 1024)
    assert sent < 100_000
    async with Fetcher(fast_settings(max_page_bytes=1_000_000)) as f:
        started = time.monotonic()
        with pytest.raises(TooLargeError, match=r"decompresses to over the 1,000,000-byte limit"):
            await f.get(server.url("/bomb"))
    assert time.monotonic() - started < 2


async def test_gzip_and_deflate_bodies_are_decompressed(server: LoopbackServer) -> None:
    text = b"<p>" + b"compressed news " * 500 + b"</p>"
    server.add("/gz", __import__("gzip").compress(text), headers={"Content-Encoding": "gzip"})
    server.add("/zlib", zlib.compress(text), headers={"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-15)
    server.add("/raw", raw.compress(text) + raw.flush(), headers={"Content-Encoding": "deflate"})
    server.add("/br", b"xx", headers={"Content-Encoding": "br"})
    async with Fetcher(fast_settings()) as f:
        for path in ("/gz", "/zlib", "/raw"):
            assert (await f.get(server.url(path))).body == text, path
        with pytest.raises(Exception, match=r"unsupported Content-Encoding"):
            await f.get(server.url("/br"))
    _, headers = server.headers[0]
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert (
        headers["User-Agent"].startswith("newsbot ") and "newsbot-tests@example.org" in headers["User-Agent"]
    )


async def test_page_too_large_declared_or_streamed(server: LoopbackServer) -> None:
    server.add("/big", b"x" * 300_000)

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(100):
            await resp.write(b"y" * 10_000)
        await resp.write_eof()
        return resp

    server.handler("/stream", chunked)
    async with Fetcher(fast_settings(max_page_bytes=100_000)) as f:
        with pytest.raises(TooLargeError, match=r"300,000 bytes, over the 100,000-byte limit"):
            await f.get(server.url("/big"))
        with pytest.raises(TooLargeError, match=r"over the 100,000-byte limit"):
            await f.get(server.url("/stream"))


async def test_conditional_get_gives_304(server: LoopbackServer) -> None:
    server.add("/feed", "<rss/>", etag='"abc"', last_modified="Mon, 02 Mar 2026 10:00:00 GMT")
    async with Fetcher(fast_settings()) as f:
        first = await f.get(server.url("/feed"), what="feed")
        second = await f.get(
            server.url("/feed"), what="feed", etag=first.etag, last_modified=first.last_modified
        )
    assert first.status == 200 and second.not_modified and second.body == b""
    assert server.headers[1][1]["If-None-Match"] == '"abc"'


async def test_http_errors_name_the_url(server: LoopbackServer) -> None:
    server.add("/gone", "", status=410)
    server.add("/broken", "", status=500)
    async with Fetcher(fast_settings()) as f:
        with pytest.raises(HTTPStatusError, match=r"gone \(410\)") as gone:
            await f.get(server.url("/gone"), what="feed")
        with pytest.raises(HTTPStatusError, match=r"server failed \(500"):
            await f.get(server.url("/broken"))
        with pytest.raises(HTTPStatusError, match=r"not found \(404\)"):
            await f.get(server.url("/nothing"))
    assert gone.value.status == 410 and str(gone.value).startswith(f"feed {server.url('/gone')}: ")


async def test_robots_txt_is_honoured_for_pages_and_cached(server: LoopbackServer) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/private/story", "secret")
    server.add("/public/story", "open")
    async with Fetcher(fast_settings()) as f:
        with pytest.raises(RobotsDisallowedError, match=r"robots.txt asks crawlers not to fetch it"):
            await f.get(server.url("/private/story"), robots=True)
        assert (await f.get(server.url("/public/story"), robots=True)).body == b"open"
        assert (await f.get(server.url("/private/story"))).body == b"secret", "feeds are not checked"
    assert server.hits["/robots.txt"] == 1 and server.hits["/private/story"] == 1


async def test_robots_txt_missing_allows_and_server_error_refuses(server: LoopbackServer) -> None:
    server.add("/story", "ok")
    async with Fetcher(fast_settings()) as f:
        assert (await f.get(server.url("/story"), robots=True)).body == b"ok"  # robots.txt is a 404
    async with LoopbackServer() as other:
        other.add("/robots.txt", "", status=503)
        other.add("/story", "ok")
        async with Fetcher(fast_settings()) as f:
            with pytest.raises(RobotsDisallowedError):
                await f.get(other.url("/story"), robots=True)


async def test_per_host_delay_spaces_requests(server: LoopbackServer) -> None:
    server.add("/p", "x")
    async with Fetcher(fast_settings(per_host_delay_seconds=0.25)) as f:
        started = time.monotonic()
        await asyncio.gather(*(f.get(server.url("/p")) for _ in range(3)))
    assert time.monotonic() - started >= 0.5


# -- no server-side request forgery -------------------------------------------------------------


async def test_ssrf_redirects_and_direct_urls_to_loopback_are_refused() -> None:
    """Private addresses NOT allowed; only the test server's own address is let through (as an
    admin would list a trusted feed server), so a redirect from it to 127.0.0.1 shows the check."""
    async with LoopbackServer("127.0.0.2") as srv:
        srv.add("/ok", "fine")
        srv.redirect("/to-ip", f"http://127.0.0.1:{srv.port}/ok")
        srv.redirect("/to-name", f"http://localhost:{srv.port}/ok")
        srv.redirect("/to-mapped", f"http://[::ffff:127.0.0.1]:{srv.port}/ok")
        srv.redirect("/to-file", "file:///etc/passwd")
        settings = fast_settings(allow_private_addresses=False, allowed_networks=["127.0.0.2/32"])
        async with LoopbackServer("127.0.0.1") as victim:
            victim.add("/ok", "internal")
            async with Fetcher(settings) as f:
                assert (await f.get(srv.url("/ok"))).body == b"fine"
                with pytest.raises(BlockedURLError, match=r"redirected to http://127.0.0.1.*loopback"):
                    await f.get(srv.url("/to-ip"))
                with pytest.raises(BlockedURLError, match=r"localhost is .*loopback address"):
                    await f.get(srv.url("/to-name"))
                with pytest.raises(BlockedURLError, match=r"loopback address inside an IPv6 address"):
                    await f.get(srv.url("/to-mapped"))
                with pytest.raises(BlockedURLError, match=r"only http and https"):
                    await f.get(srv.url("/to-file"))
                with pytest.raises(BlockedURLError, match=r"127.0.0.1 is a loopback address"):
                    await f.get(victim.url("/ok"), what="feed")
                with pytest.raises(BlockedURLError, match=r"only http and https"):
                    await f.get("ftp://example.org/feed")
            assert victim.hits["/ok"] == 0, "nothing reached the loopback server"


async def test_name_resolving_to_private_address_is_refused_at_connect_time() -> None:
    """The check is in the resolver the connector uses, so it sees the address really connected to."""

    class FakeDNS(GuardedResolver):
        def __init__(self) -> None:
            pass

        async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):  # type: ignore[no-untyped-def]
            return [
                {
                    "hostname": host,
                    "host": "127.0.0.1",
                    "port": port,
                    "family": socket.AF_INET,
                    "proto": 0,
                    "flags": 0,
                }
            ]

        async def close(self) -> None:
            pass

    async with LoopbackServer() as victim:
        victim.add("/feed", "internal")
        async with Fetcher(fast_settings(allow_private_addresses=False), resolver=FakeDNS()) as f:
            with pytest.raises(BlockedURLError, match=r"rebind.test is 127.0.0.1, a loopback address"):
                await f.get(f"http://rebind.test:{victim.port}/feed", what="feed")
        assert victim.hits["/feed"] == 0


async def test_guarded_resolver_keeps_only_public_addresses() -> None:
    class Inner(GuardedResolver):
        def __init__(self, addresses: list[str]) -> None:
            self.addresses = addresses

        async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):  # type: ignore[no-untyped-def]
            return [
                {"hostname": host, "host": a, "port": port, "family": 0, "proto": 0, "flags": 0}
                for a in self.addresses
            ]

    policy = AddressPolicy()
    mixed = GuardedResolver(policy, Inner(["10.0.0.7", "93.184.216.34"]))
    assert [r["host"] for r in await mixed.resolve("news.test", 80)] == ["93.184.216.34"]
    private = GuardedResolver(policy, Inner(["169.254.169.254", "fd00::1"]))
    with pytest.raises(BlockedAddress, match=r"169.254.169.254, a link-local address"):
        await private.resolve("metadata.test", 80)


def test_socket_factory_refuses_private_targets() -> None:
    factory = guarded_socket_factory(AddressPolicy())
    with pytest.raises(BlockedAddress):
        factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    with pytest.raises(BlockedAddress):
        factory((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0)))
    sock = factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)))
    sock.close()  # created, never connected


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1",
        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.251", "240.0.0.1", "255.255.255.255",
        "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::a00:1", "2001:db8::1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def test_check_url_rules() -> None:
    policy = AddressPolicy()
    assert check_url("https://news.example/feed.xml", policy)[0] is not None
    for bad, reason in [
        ("javascript:alert(1)", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://10.0.0.1/feed", "private address"),
        ("http://[::1]:8080/", "loopback"),
        ("http:///nohost", "no host"),
        ("http://x/" + "a" * 3000, "over 2048"),
    ]:
        parsed, problem = check_url(bad, policy)
        assert parsed is None and problem is not None and reason in problem, (bad, problem)
    allow = AddressPolicy(allowed_networks=["10.0.0.0/24"])
    assert check_url("http://10.0.0.9/feed", allow)[0] is not None
    assert check_url("http://10.0.1.9/feed", allow)[0] is None
