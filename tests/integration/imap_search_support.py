"""
The mailbox the SEARCH tests share (test_imap_search.py,
test_imap_esearch.py, test_imap_searchres.py): five messages delivered
by LMTP and a sixth APPENDed with an internal date in 2020, UIDs 1 to 6;
messages 2, 4, 5 and 6 unseen, 1 answered, 2 flagged, 3 deleted, 4 a
draft.
"""

from conftest import imap_raw_login
from imap_msg_support import deliver, seen_before

MSGS = [
    # 1
    b"From: Alice A <alice@example.net>\r\n"
    b"To: bob@example.org\r\n"
    b"Cc: carol@example.com\r\n"
    b"Subject: Lunch plans\r\n"
    b"Date: Mon, 01 Jan 2024 09:00:00 +0000\r\n"
    b"\r\n"
    b"Meet at noon.\r\n",
    # 2: 23:30 -0800 on the 2nd is the 3rd in UTC.
    b"From: bob@example.net\r\n"
    b"To: alice@example.org\r\n"
    b"Bcc: dave@example.com\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9?= tomorrow\r\n"
    b"Date: Tue, 02 Jan 2024 23:30:00 -0800\r\n"
    b"X-Priority: 1\r\n"
    b"\r\n"
    b"Coffee with cream.\r\n",
    # 3: no Date, the largest
    b"From: carol@example.com\r\n"
    b"Subject: Report\r\n"
    b"\r\n" + b"report data, line after line\r\n" * 70,
    # 4: the body is quoted-printable
    b"From: dave@example.org\r\n"
    b"Subject: lunch again\r\n"
    b"Date: Wed, 03 Jan 2024 12:00:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 au lait?\r\n",
    # 5
    b"From: eve@example.net\r\n"
    b"Subject: misc\r\n"
    b"Date: Thu, 04 Jan 2024 08:00:00 +0000\r\n"
    b"\r\n"
    b"nothing here\r\n",
]

# 6, appended with an internal date in 2020
OLD = (b"From: frank@example.net\r\n"
       b"Subject: archived\r\n"
       b"Date: Thu, 05 Mar 2020 10:00:00 +0000\r\n"
       b"\r\n"
       b"old news\r\n")


def prepare(daemon):
    """The shared mailbox; returns a session logged in with INBOX
    selected."""
    deliver(daemon, MSGS)
    c = imap_raw_login(daemon)
    assert c.run("ap", b'APPEND INBOX "05-Mar-2020 10:00:00 +0000" {%d+}'
                 b"\r\n" % len(OLD) + OLD)[-1].startswith(b"ap OK")
    seen_before(daemon)
    c.select()
    for tag, cmd in [("f1", "STORE 1 +FLAGS.SILENT (\\Seen \\Answered)"),
                     ("f2", "STORE 2 +FLAGS.SILENT (\\Flagged)"),
                     ("f3", "STORE 3 +FLAGS.SILENT (\\Deleted \\Seen)"),
                     ("f4", "STORE 4 +FLAGS.SILENT (\\Draft)")]:
        assert c.run(tag, cmd) == [tag.encode() + b" OK STORE completed"]
    return c
