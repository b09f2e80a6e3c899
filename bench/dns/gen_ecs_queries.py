#!/usr/bin/env python3
"""bench/dns/gen_ecs_queries.py: query file for `bench/dns.sh --steered`.

Writes dnsperf's TCP-stream binary input format (dnsperf -B): for every
query a 2-byte big-endian length, then the DNS message. Each message asks
for NAME (A, or AAAA for about a quarter of them) with an EDNS(0) OPT record
carrying an EDNS Client Subnet option (RFC 7871, option code 8) for a
distinct client subnet:

  - every /24 inside each IPv4 network of the geo fixture (geo/fixture/gen.pl,
    the @city table: London and Toronto /12s, Sao Paulo and Johannesburg /16s);
    networks longer than /24 (Berlin and Paris /25, New York /25, Tokyo and
    Sydney /26, San Francisco /24) give one query each with their own length
    as the source prefix, so the answer is never ambiguous;
  - V6_PER_NET distinct random /56s inside each IPv6 network of the fixture
    (Frankfurt, Arlington, Osaka, Melbourne, Rio, Cape Town /36s);
  - UNKNOWN_V4 /24s of 10.0.0.0/8 and UNKNOWN_V6 /56s of 2001:db8:f000::/36,
    which the fixture does not know (both servers' default mapping).

The networks are read from gen.pl, so the file follows the fixture. The
order is shuffled with a fixed seed: the file is the same on every run.
A summary (queries per continent and family) goes to stderr.

usage: gen_ecs_queries.py GEN_PL OUT [NAME] [SEED]
"""
import ipaddress
import random
import re
import struct
import sys

V4_MAX_PER_NET = 4096     # /24s per IPv4 network (a /12 has exactly 4096)
V6_PER_NET = 1800         # /56s drawn per IPv6 /36 (2^20 available)
UNKNOWN_V4 = 512
UNKNOWN_V6 = 200
AAAA_SHARE = 0.25         # share of queries asking AAAA (the rest ask A)
UDP_PAYLOAD = 1232        # advertised EDNS buffer size (DNS Flag Day 2020)


def fixture_networks(gen_pl):
    """(network, continent) for every row of the @city table in gen.pl."""
    rows = []
    with open(gen_pl, encoding="utf-8") as f:
        in_city = False
        for line in f:
            if line.startswith("my @city"):
                in_city = True
                continue
            if in_city and line.startswith(");"):
                break
            m = re.match(r"\s*\[\s*'([0-9a-fA-F:./]+)',\s*'([A-Z]{2})'", line) if in_city else None
            if m:
                rows.append((ipaddress.ip_network(m.group(1)), m.group(2)))
    if not rows:
        sys.exit("gen_ecs_queries.py: no networks found in %s" % gen_pl)
    return rows


def subnets(rows, rnd):
    """(subnet, label) pairs, all distinct."""
    out = []
    for net, cont in rows:
        if net.version == 4:
            if net.prefixlen >= 24:
                out.append((net, cont))
            else:
                subs = list(net.subnets(new_prefix=24))
                if len(subs) > V4_MAX_PER_NET:
                    subs = rnd.sample(subs, V4_MAX_PER_NET)
                out.extend((s, cont) for s in subs)
        else:
            out.extend((s, cont) for s in random_56s(net, V6_PER_NET, rnd))
    unknown4 = ipaddress.ip_network("10.0.0.0/8")
    picks = rnd.sample(range(1 << 16), UNKNOWN_V4)
    out.extend((ipaddress.ip_network((int(unknown4.network_address) + (i << 8), 24)), "--") for i in picks)
    out.extend((s, "--") for s in random_56s(ipaddress.ip_network("2001:db8:f000::/36"), UNKNOWN_V6, rnd))
    return out


def random_56s(net, n, rnd):
    span = 1 << (56 - net.prefixlen)
    base = int(net.network_address)
    return [ipaddress.ip_network((base + (i << (128 - 56)), 56)) for i in rnd.sample(range(span), n)]


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def message(qid, qname, qtype, subnet):
    src = subnet.prefixlen
    family = 1 if subnet.version == 4 else 2
    addr = subnet.network_address.packed[: (src + 7) // 8]   # RFC 7871 6: only the prefix's bytes
    ecs = struct.pack("!HBB", family, src, 0) + addr
    opt_rdata = struct.pack("!HH", 8, len(ecs)) + ecs
    opt = b"\0" + struct.pack("!HHIH", 41, UDP_PAYLOAD, 0, len(opt_rdata)) + opt_rdata
    header = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1)   # opcode QUERY, RD=0: an authority's workload
    return header + qname + struct.pack("!HH", qtype, 1) + opt


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    gen_pl, out_path = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "www.steered.test"
    rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 4242)
    subs = subnets(fixture_networks(gen_pl), rnd)
    rnd.shuffle(subs)
    qname = wire_name(name)
    counts = {}
    with open(out_path, "wb") as f:
        for i, (s, cont) in enumerate(subs):
            qtype = 28 if rnd.random() < AAAA_SHARE else 1
            m = message(i & 0xFFFF, qname, qtype, s)
            f.write(struct.pack("!H", len(m)) + m)
            key = "%s/v%d" % (cont, s.version)
            counts[key] = counts.get(key, 0) + 1
    summary = " ".join("%s %d" % (k, counts[k]) for k in sorted(counts))
    print("%s: %d queries for %s, distinct ECS subnets (continent/family: %s)" % (out_path, len(subs), name, summary),
          file=sys.stderr)


if __name__ == "__main__":
    main()
