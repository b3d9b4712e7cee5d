"""Which webhook URLs and addresses we call (SPEC §13): a tenant's URL
must not reach inside our network (SSRF). Every refused range, the IPv6
forms that carry an IPv4 address, and the URL's own rules."""

from __future__ import annotations

import pytest

from invoicing.domain.webhooks import MAX_URL_CHARS, address_problem, url_problem

pytestmark = pytest.mark.unit

REFUSED = [
    # (address, the reason given)
    ("169.254.169.254", "the cloud metadata address"),
    ("fd00:ec2::254", "the cloud metadata address"),
    ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"),
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("::1", "a loopback address"),
    ("169.254.10.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("10.0.0.1", "a private address"),
    ("10.255.255.255", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("100.127.255.255", "a shared (carrier-grade NAT) address"),
    ("255.255.255.255", "the broadcast address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("192.0.2.1", "a documentation address"),
    ("198.51.100.7", "a documentation address"),
    ("203.0.113.9", "a documentation address"),
    ("2001:db8::1", "a documentation address"),
    ("3fff::1", "a documentation address"),
    ("198.18.0.1", "a benchmarking address"),
    ("198.19.255.255", "a benchmarking address"),
    ("2001:2::1", "a benchmarking address"),
    ("0.1.2.3", "a reserved address"),
    ("192.0.0.8", "a reserved address"),
    ("240.0.0.1", "a reserved address"),
    ("::127.0.0.1", "a reserved address"),  # IPv4-compatible (deprecated): not routed as IPv4
    ("100::1", "a reserved address"),
    ("2001::1", "a reserved address"),  # Teredo
    ("64:ff9b:1::a00:1", "a reserved address"),  # local-use NAT64
    ("fec0::1", "a reserved address"),  # site-local
    ("4000::1", "a reserved address"),  # outside global unicast 2000::/3
    # IPv6 forms carrying an IPv4 address are judged on it
    ("::ffff:10.0.0.1", "a private address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("::ffff:169.254.169.254", "the cloud metadata address"),
    ("64:ff9b::a00:1", "a private address"),  # NAT64 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "the cloud metadata address"),
    ("2002:a00:1::", "a private address"),  # 6to4 of 10.0.0.1
    ("2002:7f00:1::1", "a loopback address"),
]


@pytest.mark.parametrize(("ip", "reason"), REFUSED)
def test_given_an_address_inside_or_reserved_then_it_is_refused_and_why(ip, reason):
    assert address_problem(ip, allow_loopback=False) == reason


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.1",
        "172.15.255.255",
        "172.32.0.1",
        "192.169.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4007:80b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_given_a_public_address_then_it_may_be_called(ip):
    assert address_problem(ip, allow_loopback=False) is None


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_given_the_local_runtime_then_loopback_may_be_called(ip):
    assert address_problem(ip, allow_loopback=True) is None


@pytest.mark.parametrize("ip", ["10.0.0.1", "169.254.169.254", "0.0.0.0"])
def test_allowing_loopback_allows_nothing_else(ip):
    assert address_problem(ip, allow_loopback=True) is not None


@pytest.mark.parametrize("ip", ["", "example.com", "256.0.0.1", "1.2.3"])
def test_what_is_not_an_address_is_refused(ip):
    assert address_problem(ip, allow_loopback=False) == "not an IP address"


ACCEPTED_URLS = [
    "https://hooks.example.com/invoicing",
    "https://hooks.example.com:8443/in?tenant=acme&x=1",
    "https://HOOKS.example.com./",
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]:443/hook",
    "https://bücher.example/hook",
]


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_given_a_public_https_url_then_it_may_be_an_endpoint(url):
    assert url_problem(url, allow_loopback=False) is None


URL_PROBLEMS = [
    # (url, allow_loopback, the words the problem holds)
    ("http://hooks.example.com/", False, "https://"),
    ("http://hooks.example.com/", True, "https://"),  # http: loopback only, even locally
    ("http://localhost:3000/", False, "https://"),
    ("ftp://hooks.example.com/", False, "https://"),
    ("javascript:alert(1)", False, "https://"),
    ("hooks.example.com/in", False, "https://"),
    ("https:///in", False, "no host"),
    ("https://user:pass@hooks.example.com/", False, "user name or password"),
    ("https://user@hooks.example.com/", False, "user name or password"),
    ("https://hooks.example.com/in#frag", False, "fragment"),
    ("https://hooks.example.com/in#", False, "fragment"),
    ("https://hooks.example.com:0/", False, "port"),
    ("https://hooks.example.com:65536/", False, "cannot be read"),
    ("https://hooks.example.com:http/", False, "cannot be read"),
    ("https://[::1/", False, "cannot be read"),
    ("https://hooks.example.com/a b", False, "spaces or control"),
    ("https://hooks.example.com/\r\nX-Injected: 1", False, "spaces or control"),
    ("https://10.0.0.1/", False, "a private address"),
    ("https://169.254.169.254/latest/meta-data/", False, "the cloud metadata address"),
    ("https://[::ffff:10.0.0.1]/", False, "a private address"),
    ("https://[fd00:ec2::254]/", False, "the cloud metadata address"),
    ("https://127.0.0.1/", False, "a loopback address"),
    ("https://2130706433/", False, "unusual form"),  # 127.0.0.1 as one number
    ("https://0x7f.1/", False, "unusual form"),
    ("https://127.1/", False, "unusual form"),
    ("https://hooks.exa$mple.com/", False, "neither a name"),
]


@pytest.mark.parametrize(("url", "allow_loopback", "words"), URL_PROBLEMS)
def test_given_a_url_with_a_problem_then_it_says_which(url, allow_loopback, words):
    problem = url_problem(url, allow_loopback=allow_loopback)
    assert problem is not None
    assert words in problem


@pytest.mark.parametrize(
    "url", ["http://localhost:3000/hook", "http://127.0.0.1:3000/hook", "http://[::1]:3000/", "https://localhost/"]
)
def test_given_the_local_runtime_then_a_loopback_url_may_be_http(url):
    assert url_problem(url, allow_loopback=True) is None


def test_a_url_of_2048_characters_is_accepted_and_2049_refused():
    base = "https://hooks.example.com/"
    longest = base + "a" * (MAX_URL_CHARS - len(base))
    assert len(longest) == 2048
    assert url_problem(longest, allow_loopback=False) is None
    problem = url_problem(longest + "a", allow_loopback=False)
    assert problem is not None
    assert "longer than 2048" in problem
