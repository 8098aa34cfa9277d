"""
LMTP delivery (RFC 2033) end to end: Python's smtplib.LMTP, raw sockets
for exact replies and pipelining, and swaks.
"""

import re
import smtplib
import subprocess
import shutil

from conftest import (DOMAIN, MAX_MESSAGE_SIZE, LmtpConn, assert_prefixed,
                      make_message, reply_line, split_prefix)

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"


def lmtp_client(daemon):
    client = smtplib.LMTP("127.0.0.1", daemon.lmtp_port, timeout=10)
    return client


def lmtp_send(client, sender, recipients, msg):
    """A transaction where every recipient's DATA reply is read (smtplib's
    data() returns only the first). Returns ({rcpt: RCPT reply},
    [DATA replies, one per accepted recipient, in RCPT order])."""
    code, text = client.mail(sender)
    assert code == 250, (code, text)
    rcpt_replies = {}
    accepted = []
    for rcpt in recipients:
        rcpt_replies[rcpt] = client.rcpt(rcpt)
        if rcpt_replies[rcpt][0] == 250:
            accepted.append(rcpt)
    if not accepted:
        client.rset()
        return rcpt_replies, []
    data_replies = [client.data(msg)]
    for _ in accepted[1:]:
        data_replies.append(client.getreply())
    return rcpt_replies, data_replies


def test_greeting_and_lhlo(daemon):
    with LmtpConn(daemon.lmtp_port) as c:
        code, lines = c.reply()
        assert code == 220 and len(lines) == 1, lines
        # The configured hostname greets (RFC 5321 4.2: the server's name
        # follows the code).
        assert lines[0].startswith("220 mailbell.test "), lines
        code, lines = c.cmd("LHLO client.example.net")
        assert code == 250
        assert lines[0].startswith("250-mailbell.test"), lines
        assert all(l.startswith("250-") for l in lines[:-1])
        assert lines[-1].startswith("250 ")
        keywords = [l[4:] for l in lines[1:]]
        assert "PIPELINING" in keywords
        assert "8BITMIME" in keywords
        assert "ENHANCEDSTATUSCODES" in keywords
        assert "SIZE %d" % MAX_MESSAGE_SIZE in keywords
        assert c.cmd("QUIT")[0] == 221


def test_smtplib_delivery_is_byte_identical(daemon):
    body = make_message("byte identical",
                        "Line one.\r\n\r\n  indented\ttab\r\n"
                        "trailing spaces   \r\n8bit: caf\xe9 \u2713\r\n")
    client = lmtp_client(daemon)
    client.ehlo("client.example.net")
    rcpts, data = lmtp_send(client, "sender@example.net",
                            ["alice@example.org"], body)
    assert rcpts["alice@example.org"][0] == 250
    assert [d[0] for d in data] == [250]
    client.quit()
    msgs = daemon.wait_messages("alice", 1)
    assert len(msgs) == 1
    assert_prefixed(msgs[0], body, "sender@example.net", "alice@example.org")
    # The prefix lines use CRLF like the body mailbell received.
    prefix, _ = split_prefix(msgs[0])
    assert prefix == [b"Return-Path: <sender@example.net>\r\n",
                      b"Delivered-To: alice@example.org\r\n"]


def test_sendmail_to_two_users(daemon):
    body = make_message("two users")
    client = lmtp_client(daemon)
    client.ehlo("client.example.net")
    rcpts, data = lmtp_send(client, "sender@example.net",
                            ["alice@example.org", "bob@example.org"], body)
    assert [d[0] for d in data] == [250, 250]
    client.quit()
    a = daemon.wait_messages("alice", 1)
    b = daemon.wait_messages("bob", 1)
    assert len(a) == 1 and len(b) == 1
    assert_prefixed(a[0], body, "sender@example.net", "alice@example.org")
    assert_prefixed(b[0], body, "sender@example.net", "bob@example.org")


def test_many_recipients_mixed_results(daemon):
    for name in ("carol", "dave", "erin"):
        daemon.add_user(name)
    known = ["alice", "bob", "carol", "dave", "erin"]
    recipients = []
    for i in range(12):
        if i % 2 == 0:
            recipients.append("%s@%s" % (known[(i // 2) % len(known)], DOMAIN))
        else:
            recipients.append("nobody%d@%s" % (i, DOMAIN))
    # Known users appear more than once (alice, bob): each RCPT is one
    # delivery, as RFC 2033 says.
    body = make_message("mixed")
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert reply_line(c.cmd("MAIL FROM:<sender@example.net>"))[:3] == "250"
        accepted = []
        for rcpt in recipients:
            code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
            if rcpt.startswith("nobody"):
                assert code == 550, lines
                assert lines[-1].startswith("550 5.1.1 "), lines
            else:
                assert code == 250, lines
                assert lines[-1].startswith("250 2.1.5 "), lines
                accepted.append(rcpt)
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        replies = [c.reply() for _ in accepted]
        assert [r[0] for r in replies] == [250] * len(accepted), replies
        for r in replies:
            assert r[1][-1].startswith("250 2."), r
        assert c.cmd("QUIT")[0] == 221
    counts = {}
    for rcpt in accepted:
        counts[rcpt.split("@")[0]] = counts.get(rcpt.split("@")[0], 0) + 1
    for user, n in counts.items():
        msgs = daemon.wait_messages(user, n)
        assert len(msgs) == n, user
        for m in msgs:
            assert_prefixed(m, body, "sender@example.net",
                            "%s@%s" % (user, DOMAIN))
    assert not (daemon.data_dir / "mail" / "nobody1").exists()


def test_unknown_domain_rejected(daemon):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        code, lines = c.cmd("RCPT TO:<alice@elsewhere.example>")
        # 5.1.1 (no such user here) or 5.1.2 (not our domain).
        assert code == 550 and lines[-1][:9] in ("550 5.1.1", "550 5.1.2"), \
            lines
        code, lines = c.cmd("DATA")
        assert code == 503 and lines[-1].startswith("503 5.5.1 "), lines
    assert daemon.message_files("alice") == []


def test_size_parameter_over_limit_rejected_at_mail(daemon):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        code, lines = c.cmd("MAIL FROM:<sender@example.net> SIZE=%d"
                            % (MAX_MESSAGE_SIZE + 1))
        assert code == 552, lines
        assert lines[-1].startswith("552 5.3.4 "), lines
        # The session goes on: a fitting SIZE is accepted.
        code, lines = c.cmd("MAIL FROM:<sender@example.net> SIZE=%d"
                            % MAX_MESSAGE_SIZE)
        assert code == 250, lines
        assert c.cmd("QUIT")[0] == 221


def test_oversized_data_rejected_per_recipient_nothing_stored(daemon):
    line = b"x" * 998 + b"\r\n"
    body = make_message("too big",
                        (line * (MAX_MESSAGE_SIZE // len(line) + 2)).decode())
    assert len(body) > MAX_MESSAGE_SIZE
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        replies = [c.reply(), c.reply()]
        for code, lines in replies:
            assert code == 552, replies
            assert lines[-1].startswith("552 5.3.4 "), replies
        # The session is usable afterwards.
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        small = make_message("small after big")
        c.send(small + b".\r\n")
        assert c.reply()[0] == 250
        assert c.cmd("QUIT")[0] == 221
    msgs = daemon.wait_messages("alice", 1)
    assert len(msgs) == 1
    assert_prefixed(msgs[0], small, "sender@example.net", "alice@example.org")
    assert daemon.message_files("bob") == []
    assert daemon.tmp_files("alice") == [] and daemon.tmp_files("bob") == []


def test_pipelined_transaction_in_one_write(daemon):
    body = make_message("pipelined")
    with daemon.lmtp() as c:
        c.send(b"LHLO client.example.net\r\n"
               b"MAIL FROM:<sender@example.net>\r\n"
               b"RCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\n"
               b"RCPT TO:<bob@example.org>\r\n"
               b"DATA\r\n" + body + b".\r\n"
               b"MAIL FROM:<>\r\n"
               b"RCPT TO:<bob@example.org>\r\n"
               b"DATA\r\n" + body + b".\r\n"
               b"QUIT\r\n")
        codes = [c.reply()[0] for _ in range(12)]
        assert codes == [250,            # LHLO
                         250, 250, 550, 250, 354,
                         250, 250,       # alice, bob
                         250, 250, 354,
                         250], codes     # bob
        assert c.reply()[0] == 221
    assert len(daemon.wait_messages("alice", 1)) == 1
    bob = daemon.wait_messages("bob", 2)
    assert len(bob) == 2
    prefixes = sorted(split_prefix(m)[0][0] for m in bob)
    assert prefixes == [b"Return-Path: <>\r\n",
                        b"Return-Path: <sender@example.net>\r\n"]


def test_rset_noop_quit_vrfy(daemon):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        code, lines = c.cmd("NOOP")
        assert code == 250 and lines[-1].startswith("250 2.0.0"), lines
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        code, lines = c.cmd("RSET")
        assert code == 250 and lines[-1].startswith("250 2.0.0"), lines
        # After RSET there is no transaction: RCPT and DATA are out of
        # sequence.
        code, lines = c.cmd("RCPT TO:<alice@example.org>")
        assert code == 503 and lines[-1].startswith("503 5.5.1"), lines
        code, lines = c.cmd("DATA")
        assert code == 503 and lines[-1].startswith("503 5.5.1"), lines
        # VRFY neither confirms nor denies (RFC 5321 3.5.3).
        code, lines = c.cmd("VRFY alice")
        assert code == 252, lines
        code, lines = c.cmd("VRFY nosuchuser")
        assert code == 252, lines
        code, lines = c.cmd("QUIT")
        assert code == 221 and lines[-1].startswith("221 2.0.0"), lines
        assert c.closed()
    assert daemon.message_files("alice") == []


def test_dot_unstuffing(daemon):
    # On the wire, lines starting with '.' get an extra '.'; the store must
    # hold the original.
    original = (b"From: sender@example.net\r\nSubject: dots\r\n\r\n"
                b".leading dot\r\n"
                b"..two dots\r\n"
                b".\tdot tab\r\n"
                b"middle . dot\r\n"
                b". \r\n"
                b"last line\r\n")
    stuffed = re.sub(rb"(?m)^\.", b"..", original)
    assert stuffed != original
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(stuffed + b".\r\n")
        assert c.reply()[0] == 250
    msgs = daemon.wait_messages("alice", 1)
    assert_prefixed(msgs[0], original, "sender@example.net",
                    "alice@example.org")
    # smtplib stuffs dots itself; the result must be the same.
    client = lmtp_client(daemon)
    client.ehlo("x")
    _, data = lmtp_send(client, "sender@example.net", ["bob@example.org"],
                        original)
    assert [d[0] for d in data] == [250]
    client.quit()
    msgs = daemon.wait_messages("bob", 1)
    assert_prefixed(msgs[0], original, "sender@example.net",
                    "bob@example.org")


def test_swaks_delivers(daemon):
    r = subprocess.run(
        [SWAKS, "--protocol", "LMTP",
         "--server", "127.0.0.1:%d" % daemon.lmtp_port,
         "--from", "sender@example.net", "--to", "alice@example.org",
         "--header", "Subject: sent by swaks",
         "--body", "Hello from swaks.\n"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    assert "LHLO" in out and "<-  250 2." in out, out
    msgs = daemon.wait_messages("alice", 1)
    assert len(msgs) == 1
    prefix, rest = split_prefix(msgs[0])
    assert prefix == [b"Return-Path: <sender@example.net>\r\n",
                      b"Delivered-To: alice@example.org\r\n"]
    assert b"Subject: sent by swaks\r\n" in rest
    assert b"\r\n\r\nHello from swaks.\r\n" in rest


def test_swaks_pipelining_multiple_recipients(daemon):
    r = subprocess.run(
        [SWAKS, "--protocol", "LMTP", "--pipeline",
         "--server", "127.0.0.1:%d" % daemon.lmtp_port,
         "--from", "sender@example.net",
         "--to", "alice@example.org,bob@example.org",
         "--body", "Pipelined by swaks.\n"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    assert len(daemon.wait_messages("alice", 1)) == 1
    assert len(daemon.wait_messages("bob", 1)) == 1


def test_swaks_unknown_user_fails(daemon):
    r = subprocess.run(
        [SWAKS, "--protocol", "LMTP",
         "--server", "127.0.0.1:%d" % daemon.lmtp_port,
         "--from", "sender@example.net", "--to", "nosuchuser@example.org",
         "--body", "nobody\n"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace")
    # swaks exits 24 when no recipient was accepted.
    assert r.returncode == 24, (r.returncode, out)
    assert "<** 550 5.1.1" in out, out
