"""Minimal DNS query helper for integration tests (stdlib only).

answers(port, name, qtype, ecs=None) -> (rcode, [rdata strings], ecs_scope)
A/AAAA rdata as addresses, CNAME as the target name. The responses are
also checked independently by ldns in the dns_probe scenarios; this helper
exists for loops over thousands of clients."""
import ipaddress
import random
import socket
import struct


def _name(n):
    out = b''
    for label in n.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def _read_name(msg, pos):
    labels, jumped, end = [], False, None
    for _ in range(128):
        ln = msg[pos]
        if ln & 0xc0 == 0xc0:
            if not jumped:
                end = pos + 2
            pos = ((ln & 0x3f) << 8) | msg[pos + 1]
            jumped = True
            continue
        if ln == 0:
            return '.'.join(labels) + '.', (end if jumped else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + ln].decode('ascii', 'replace'))
        pos += 1 + ln
    raise ValueError('name loop')


def query(port, name, qtype=1, ecs=None, server='127.0.0.1', timeout=2.0):
    qid = random.randrange(65536)
    msg = struct.pack('>HHHHHH', qid, 0, 1, 0, 0, 1) + _name(name) + struct.pack('>HH', qtype, 1)
    opt = b''
    if ecs:
        net = ipaddress.ip_network(ecs, strict=False)
        fam = 1 if net.version == 4 else 2
        alen = (net.prefixlen + 7) // 8
        data = struct.pack('>HBB', fam, net.prefixlen, 0) + net.network_address.packed[:alen]
        opt = struct.pack('>HH', 8, len(data)) + data
    msg += b'\0' + struct.pack('>HHIH', 41, 1232, 0, len(opt)) + opt
    fam = socket.AF_INET6 if ':' in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(msg, (server, port))
        resp = s.recv(65535)
    finally:
        s.close()
    rid, flags, qd, an, ns, ar = struct.unpack('>HHHHHH', resp[:12])
    assert rid == qid, 'id mismatch'
    pos = 12
    for _ in range(qd):
        _, pos = _read_name(resp, pos)
        pos += 4
    rrs, scope = [], None
    for i in range(an + ns + ar):
        _, pos = _read_name(resp, pos)
        t, c, ttl, rdlen = struct.unpack('>HHIH', resp[pos:pos + 10])
        rd = resp[pos + 10:pos + 10 + rdlen]
        if i < an:
            if t == 1:
                rrs.append(str(ipaddress.IPv4Address(rd)))
            elif t == 28:
                rrs.append(str(ipaddress.IPv6Address(rd)))
            elif t == 5:
                rrs.append(_read_name(resp, pos + 10)[0])
        if t == 41:
            o = 0
            while o + 4 <= len(rd):
                code, olen = struct.unpack('>HH', rd[o:o + 4])
                if code == 8:
                    scope = rd[o + 7]
                o += 4 + olen
        pos += 10 + rdlen
    return flags & 0xf, rrs, scope
