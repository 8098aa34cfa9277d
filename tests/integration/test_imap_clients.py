"""
mailbell's IMAP service as real clients nobody here wrote see it:

- curl with imap:// URLs: LIST, FETCH by UID, by sequence number and by
  section, SEARCH, EXAMINE, STATUS, APPEND, and a refused login;
- mbsync (isync) mirroring a user's folders to a local Maildir and back:
  200 messages compared byte for byte, flag changes, deletions, new
  messages and new folders in both directions;
- neomutt, a full-screen reader, running headless in tmux: the index, a
  MIME message with an attachment, flags, deletion, new mail arriving
  while it is open, and a folder reopened from its header cache with
  CONDSTORE and QRESYNC.

What each client did is checked against what was delivered (LMTP) and
against the server's state read with imaplib.
"""

import base64
import datetime
import os
import re
import subprocess
import uuid

from conftest import PASSWORD, imap_login
from imapclients_support import (
    IMAP_TIMEOUT, TapRelay, Terminal, deliver, folder_state, imap_ok,
    list_folders, maildir_messages, make_maildir, message_id, mime_message,
    numbered_message, set_maildir_flags, simple_message, tool)

SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash",
               "Junk": "\\Junk"}
CLIENT_TIMEOUT = 180.0


def client_env(tmp_path):
    """An environment that reads no user or system configuration and goes
    through no proxy."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy")
           and k not in ("MAIL", "MAILDIR", "MUTT", "NEOMUTT", "EDITOR")}
    env.update(HOME=str(home), LANG="C.UTF-8", LC_ALL="C.UTF-8",
               TZ="UTC", XDG_CONFIG_HOME=str(home / ".config"))
    return env


def stored_body(daemon, user, folder, mid):
    """The stored file (in mailbell's Maildir) holding message mid."""
    for data in daemon.messages(user, folder):
        if message_id(data) == mid:
            return data
    raise AssertionError("no stored message %r in %s/%s" % (mid, user,
                                                            folder))


def delivered_as(delivered, rcpt="alice@example.org"):
    """What mailbell stores for a message it received by LMTP: the
    Return-Path and Delivered-To lines, then the bytes received."""
    return (b"Return-Path: <sender@example.net>\r\n"
            b"Delivered-To: " + rcpt.encode() + b"\r\n" + delivered)


# ======================================================================
# curl
# ======================================================================

def curl(daemon, tmp_path, path, *args, user="alice", password=PASSWORD,
         check=True):
    url = "imap://127.0.0.1:%d/%s" % (daemon.ports["imap"], path)
    cmd = [tool("curl"), "-q", "-sS", "--noproxy", "*", "--max-time", "60",
           "-u", "%s:%s" % (user, password)] + list(args) + [url]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=client_env(tmp_path),
                       timeout=CLIENT_TIMEOUT)
    if check:
        assert r.returncode == 0, (cmd, r.returncode, r.stderr, r.stdout)
    return r


def untagged(output):
    return [line for line in output.decode("utf-8", "replace").split("\r\n")
            if line]


def test_curl_list_shows_inbox_and_special_use_folders(daemon, tmp_path):
    r = curl(daemon, tmp_path, "")
    lines = untagged(r.stdout)
    folders = {}
    for line in lines:
        m = re.match(r'^\* LIST \(([^)]*)\) "\." (.+)$', line)
        assert m, (line, lines)
        folders[m.group(2).strip('"')] = set(m.group(1).split())
    assert set(folders) == {"INBOX", "Sent", "Drafts", "Trash", "Junk"}, \
        lines
    for name, attr in SPECIAL_USE.items():
        assert attr in folders[name], (name, lines)
    # CHILDREN: every folder says whether it has children.
    for name, attrs in folders.items():
        assert attrs & {"\\HasNoChildren", "\\HasChildren"}, (name, lines)

    # A folder made with imaplib shows up with its parent marked.
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    imap_ok(m.create("Projects.2024"), "CREATE")
    m.logout()
    lines = untagged(curl(daemon, tmp_path, "").stdout)
    assert any(re.match(r'^\* LIST \([^)]*\\HasChildren[^)]*\) "\." '
                        r'"?Projects"?$', l) for l in lines), lines
    assert any(re.match(r'^\* LIST \([^)]*\) "\." "?Projects\.2024"?$', l)
               for l in lines), lines


def test_curl_fetches_messages_by_uid_index_and_section(daemon, tmp_path):
    plain = simple_message("first by curl", "Plain body.\r\n.dot line\r\n")
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4
    mime = mime_message("second by curl", "The text part.\r\n",
                        "report.pdf", pdf)
    deliver(daemon, [plain, mime])
    daemon.wait_landed(2, user="alice")

    # The whole message by UID: exactly what mailbell stored, which is
    # exactly what it was given after its two trace lines.
    first = curl(daemon, tmp_path, "INBOX;UID=1").stdout
    assert first == delivered_as(plain)
    assert first == stored_body(daemon, "alice", "INBOX", message_id(plain))
    second = curl(daemon, tmp_path, "INBOX;UID=2").stdout
    assert second == delivered_as(mime)

    # By message sequence number (FETCH n BODY[]).
    assert curl(daemon, tmp_path, "INBOX;MAILINDEX=2").stdout == second

    # Sections of the MIME message: the text part, the attachment as sent
    # (base64), the header and the body.
    part1 = curl(daemon, tmp_path, "INBOX;UID=2;SECTION=1").stdout
    assert part1 == b"The text part.\r\n"
    part2 = curl(daemon, tmp_path, "INBOX;UID=2;SECTION=2").stdout
    assert base64.b64decode(part2) == pdf
    header = curl(daemon, tmp_path, "INBOX;UID=2;SECTION=HEADER").stdout
    text = curl(daemon, tmp_path, "INBOX;UID=2;SECTION=TEXT").stdout
    assert header + text == second
    assert header.endswith(b"\r\n\r\n") and b"Subject: second by curl" \
        in header
    # A partial fetch: BODY[]<0.30>.
    partial = curl(daemon, tmp_path, "INBOX;UID=1;PARTIAL=0.30").stdout
    assert partial == first[:30]

    # A UID that does not exist: curl reports an error, prints nothing.
    r = curl(daemon, tmp_path, "INBOX;UID=99", check=False)
    assert r.returncode != 0 and r.stdout == b"", (r.returncode, r.stdout)


def test_curl_search_follows_seen_flag_set_by_fetch(daemon, tmp_path):
    msgs = [simple_message("search %d" % i) for i in range(1, 5)]
    deliver(daemon, msgs)
    daemon.wait_landed(4, user="alice")

    assert untagged(curl(daemon, tmp_path, "INBOX?UNSEEN").stdout) == \
        ["* SEARCH 1 2 3 4"]
    # curl fetches BODY[] in a selected (read-write) folder: \Seen is set.
    curl(daemon, tmp_path, "INBOX;UID=2")
    curl(daemon, tmp_path, "INBOX;UID=4")
    assert untagged(curl(daemon, tmp_path, "INBOX?UNSEEN").stdout) == \
        ["* SEARCH 1 3"]
    assert untagged(curl(daemon, tmp_path, "INBOX?SEEN").stdout) == \
        ["* SEARCH 2 4"]
    # A custom command after SELECT, and a search on a header.
    assert untagged(curl(daemon, tmp_path, "INBOX", "-X",
                         "UID SEARCH UNSEEN").stdout) == ["* SEARCH 1 3"]
    assert untagged(curl(daemon, tmp_path, "INBOX", "-X",
                         'SEARCH SUBJECT "search 3"').stdout) == \
        ["* SEARCH 3"]
    # imaplib agrees.
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    state = folder_state(m)
    m.logout()
    seen = sorted(v["uid"] for v in state.values() if "\\Seen" in v["flags"])
    assert seen == [2, 4]


def test_curl_examine_and_status_report_what_was_delivered(daemon, tmp_path):
    deliver(daemon, [simple_message("examine %d" % i) for i in range(3)])
    events = daemon.wait_landed(3, user="alice", folder="INBOX")
    uidvalidity = events[0][2]
    assert [e[3] for e in events] == [1, 2, 3]

    lines = untagged(curl(daemon, tmp_path, "", "-X",
                          "EXAMINE INBOX").stdout)
    assert "* 3 EXISTS" in lines, lines
    assert any(re.match(r"^\* OK \[UIDVALIDITY %d\]" % uidvalidity, l)
               for l in lines), lines
    assert any(re.match(r"^\* OK \[UIDNEXT 4\]", l) for l in lines), lines
    assert any(l.startswith("* FLAGS (") for l in lines), lines
    assert any(re.match(r"^\* OK \[UNSEEN 1\]", l) for l in lines), lines
    # EXAMINE is read-only: PERMANENTFLAGS is empty.
    assert any(re.match(r"^\* OK \[PERMANENTFLAGS \(\)\]", l)
               for l in lines), lines

    lines = untagged(curl(daemon, tmp_path, "", "-X",
                          "STATUS INBOX (MESSAGES UNSEEN UIDNEXT "
                          "UIDVALIDITY)").stdout)
    assert len(lines) == 1, lines
    m = re.match(r"^\* STATUS \"?INBOX\"? \((.*)\)$", lines[0])
    assert m, lines
    items = m.group(1).split()
    assert dict(zip(items[::2], items[1::2])) == {
        "MESSAGES": "3", "UNSEEN": "3", "UIDNEXT": "4",
        "UIDVALIDITY": str(uidvalidity)}


def test_curl_append_then_fetch_with_sasl_plain(daemon, tmp_path):
    draft = simple_message("a draft uploaded by curl",
                           "Draft body.\r\n.leading dot\r\n")
    path = tmp_path / "draft.eml"
    path.write_bytes(draft)
    curl(daemon, tmp_path, "Drafts", "-T", str(path))
    # curl logs in with SASL PLAIN and its initial response (SASL-IR).
    r = curl(daemon, tmp_path, "Drafts;UID=1", "-v",
             "--login-options", "AUTH=PLAIN")
    assert r.stdout == draft
    sent = [l for l in r.stderr.decode("utf-8", "replace").splitlines()
            if l.startswith("> ")]
    assert any(re.match(r"^> \S+ AUTHENTICATE PLAIN [A-Za-z0-9+/=]+$", l)
               for l in sent), sent
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    state = folder_state(m, "Drafts")
    m.logout()
    assert list(state) == [message_id(draft)]
    assert state[message_id(draft)]["body"] == draft


def test_curl_wrong_password_is_refused(daemon, tmp_path):
    deliver(daemon, [simple_message("secret")])
    r = curl(daemon, tmp_path, "INBOX;UID=1", password="wrong-password",
             check=False)
    assert r.returncode == 67, (r.returncode, r.stderr)   # LOGIN_DENIED
    assert r.stdout == b""
    r = curl(daemon, tmp_path, "INBOX;UID=1", user="nobody", check=False)
    assert r.returncode == 67, (r.returncode, r.stderr)


def test_curl_checks_uidvalidity_in_the_url(daemon, tmp_path):
    msg = simple_message("uidvalidity")
    deliver(daemon, [msg])
    uidvalidity = daemon.wait_landed(1, user="alice")[0][2]
    out = curl(daemon, tmp_path,
               "INBOX;UIDVALIDITY=%d;UID=1" % uidvalidity).stdout
    assert out == delivered_as(msg)
    # curl compares the UIDVALIDITY the server reports on SELECT with the
    # one in the URL and refuses to fetch on a mismatch.
    r = curl(daemon, tmp_path, "INBOX;UIDVALIDITY=%d;UID=1"
             % (uidvalidity + 1), check=False)
    assert r.returncode != 0 and r.stdout == b"", (r.returncode, r.stderr)
    # A folder that does not exist.
    r = curl(daemon, tmp_path, "Nowhere;UID=1", check=False)
    assert r.returncode != 0 and r.stdout == b"", (r.returncode, r.stderr)


# ======================================================================
# mbsync (isync)
# ======================================================================

class Mbsync:
    """mbsync with a private configuration: every folder of alice on the
    server mirrored to a local Maildir tree (INBOX at local/INBOX, other
    folders as local/NAME, hierarchy as subdirectories)."""

    def __init__(self, daemon, tmp_path, auth="LOGIN", password=PASSWORD,
                 copy_arrival_date=False, tls=None):
        """tls: None (in clear), or mbsync's SSLType IMAPS or STARTTLS,
        trusting the daemon's certificate through CertificateFile."""
        self.daemon = daemon
        self.tmp = tmp_path
        self.local = tmp_path / "local"
        self.local.mkdir(exist_ok=True)
        self.config = tmp_path / "mbsyncrc"
        self.auth = auth
        self.password = password
        self.copy_arrival_date = copy_arrival_date
        self.tls = tls
        self.write_config()

    def write_config(self):
        """(Re)write the configuration for the daemon's current port."""
        daemon, auth, password = self.daemon, self.auth, self.password
        copy_arrival_date = self.copy_arrival_date
        if self.tls is None:
            tls = ["Port %d" % daemon.ports["imap"], "SSLType None"]
        else:
            tls = ["Port %d" % daemon.ports["imaps" if self.tls == "IMAPS"
                                            else "imap"],
                   "SSLType %s" % self.tls,
                   "CertificateFile %s" % (daemon.data_dir / "tls" /
                                           "mailbell.crt")]
        self.config.write_text("\n".join([
            "IMAPAccount mailbell",
            "Host 127.0.0.1",
            "User alice",
            "Pass %s" % password,
        ] + tls + [
            "AuthMechs %s" % auth,
            "Timeout 60",
            "",
            "IMAPStore server",
            "Account mailbell",
            "",
            "MaildirStore local",
            "Path %s/" % self.local,
            "Inbox %s/INBOX" % self.local,
            "SubFolders Verbatim",
            "",
            "Channel mirror",
            "Far :server:",
            "Near :local:",
            "Patterns *",
            "Sync All",
            "Create Both",
            "Expunge Both",
            "SyncState *",
            "CopyArrivalDate %s" % ("yes" if copy_arrival_date else "no"),
            "",
        ]))

    def run(self, check=True):
        cmd = [tool("mbsync"), "-c", str(self.config), "-V", "-a"]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=client_env(self.tmp), timeout=CLIENT_TIMEOUT)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        if check:
            assert r.returncode == 0, "mbsync exited %d:\n%s" % (
                r.returncode, out[-6000:])
            problems = [l for l in out.splitlines()
                        if l.startswith(("Error", "Warning"))]
            assert not problems, "mbsync complained:\n%s" % out[-6000:]
        return r.returncode, out

    def box(self, name="INBOX"):
        return self.local / name


def lf(data):
    """A message with CR LF line ends as mbsync writes it to a Maildir."""
    return data.replace(b"\r\n", b"\n")


TUID_RE = re.compile(rb"^X-TUID: [^\r\n]*\r?\n", re.M)


def without_tuid(data):
    """A message without the X-TUID header line mbsync adds to every
    message it copies, so that it can find it again after a crash."""
    end = data.find(b"\n\r\n") if b"\r\n\r\n" in data else data.find(b"\n\n")
    end = len(data) if end < 0 else end + 1
    return TUID_RE.sub(b"", data[:end], count=1) + data[end:]


def server_state(daemon, folder="INBOX"):
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    try:
        return folder_state(m, folder)
    finally:
        m.logout()


def test_mbsync_mirrors_200_messages_byte_for_byte(daemon, tmp_path):
    run = uuid.uuid4().hex[:8]
    msgs = [numbered_message(i, run) for i in range(1, 201)]
    deliver(daemon, msgs, timeout=60)
    daemon.wait_landed(200, user="alice", folder="INBOX", timeout=60)

    sync = Mbsync(daemon, tmp_path)
    sync.run()

    # Every server folder exists locally as a Maildir.
    for name in ["INBOX"] + list(SPECIAL_USE):
        for sub in ("cur", "new", "tmp"):
            assert (sync.box(name) / sub).is_dir(), (name, sub)

    server = server_state(daemon)
    local = maildir_messages(sync.box())
    assert len(server) == 200
    assert sorted(local) == sorted(server)
    for n, msg in enumerate(msgs, 1):
        mid = message_id(msg)
        assert server[mid]["body"] == delivered_as(msg), n
        # mbsync stores Maildir files with LF line ends; apart from that,
        # each is byte-identical to what the server served.
        assert without_tuid(local[mid]["body"]) == lf(server[mid]["body"]), n
        assert local[mid]["flags"] == "", (n, local[mid]["path"])
        assert server[mid]["flags"] == set(), (n, server[mid]["flags"])
    # mbsync fetched with BODY.PEEK: nothing became \Seen.

    # A second sync changes nothing on either side.
    before = {k: v["path"] for k, v in local.items()}
    sync.run()
    assert {k: v["path"] for k, v in
            maildir_messages(sync.box()).items()} == before
    after = server_state(daemon)
    assert {k: (v["uid"], v["flags"]) for k, v in after.items()} == \
        {k: (v["uid"], v["flags"]) for k, v in server.items()}


def test_mbsync_local_changes_reach_the_server(daemon, tmp_path):
    run = uuid.uuid4().hex[:8]
    msgs = [numbered_message(i, run) for i in range(1, 13)]
    deliver(daemon, msgs)
    daemon.wait_landed(12, user="alice", folder="INBOX")
    sync = Mbsync(daemon, tmp_path, copy_arrival_date=True)
    sync.run()
    local = maildir_messages(sync.box())
    assert len(local) == 12
    ids = [message_id(m) for m in msgs]

    # Flags set in the mail reader's way: rename with :2,<letters>.
    wanted = {ids[0]: "S", ids[1]: "F", ids[2]: "FS", ids[3]: "RS",
              ids[4]: "D"}
    for mid, letters in wanted.items():
        set_maildir_flags(local[mid]["path"], letters)
    # Deleted locally: removed outright, and marked trashed (T).
    os.unlink(local[ids[5]]["path"])
    os.unlink(local[ids[6]]["path"])
    set_maildir_flags(local[ids[7]]["path"], "T")
    # A new message written into the Maildir, with a known arrival time.
    new_msg = lf(simple_message("written locally", "Local body.\r\n"
                                ".dot\r\nend\r\n"))
    new_path = sync.box() / "new" / ("1700000000.M1P1.localhost")
    new_path.write_bytes(new_msg)
    arrival = 1615000000        # 2021-03-06 03:06:40 UTC
    os.utime(new_path, (arrival, arrival))
    # A new folder, nested, with a message in it.
    nested = make_maildir(sync.local / "Projects" / "2024")
    make_maildir(sync.local / "Projects")
    nested_msg = lf(simple_message("filed locally", "In a subfolder.\r\n"))
    (nested / "cur" / "1700000001.M2P1.localhost:2,S").write_bytes(
        nested_msg)

    sync.run()

    server = server_state(daemon)
    flag_names = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered",
                  "D": "\\Draft"}
    for mid, letters in wanted.items():
        assert server[mid]["flags"] == {flag_names[c] for c in letters}, \
            (mid, server[mid]["flags"])
    for mid in (ids[5], ids[6], ids[7]):
        assert mid not in server, "deleted locally, still on the server"
    for mid in ids[8:]:
        assert server[mid]["flags"] == set()
    # The appended message: CR LF on the wire, body as written.
    up = server[message_id(new_msg)]
    assert up["flags"] == set()
    assert without_tuid(up["body"]) == new_msg.replace(b"\n", b"\r\n")
    assert len(server) == 12 - 3 + 1

    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    try:
        folders = list_folders(m)
        assert "Projects" in folders and "Projects.2024" in folders, folders
        assert "\\HasChildren" in folders["Projects"], folders
        nested_state = folder_state(m, "Projects.2024")
        assert list(nested_state) == [message_id(nested_msg)]
        got = nested_state[message_id(nested_msg)]
        assert got["flags"] == {"\\Seen"}
        assert without_tuid(got["body"]) == \
            nested_msg.replace(b"\n", b"\r\n")
        # CopyArrivalDate: APPEND carried the file's time as INTERNALDATE.
        imap_ok(m.select("INBOX", readonly=True))
        data = imap_ok(m.uid("FETCH", str(up["uid"]), "(INTERNALDATE)"))
        assert _internaldate_epoch(data[0]) == arrival, data
    finally:
        m.logout()

    # The next sync is quiet and the local side agrees with the server.
    sync.run()
    local = maildir_messages(sync.box())
    assert sorted(local) == sorted(server)


def _internaldate_epoch(line):
    m = re.search(rb'INTERNALDATE "([^"]+)"', line)
    if not m:
        return None
    dt = datetime.datetime.strptime(m.group(1).decode().strip(),
                                    "%d-%b-%Y %H:%M:%S %z")
    return int(dt.timestamp())


def test_mbsync_server_changes_reach_the_local_maildir(daemon, tmp_path):
    run = uuid.uuid4().hex[:8]
    msgs = [numbered_message(i, run) for i in range(1, 11)]
    deliver(daemon, msgs)
    daemon.wait_landed(10, user="alice", folder="INBOX")
    sync = Mbsync(daemon, tmp_path)
    sync.run()
    assert len(maildir_messages(sync.box())) == 10
    ids = [message_id(m) for m in msgs]
    server = server_state(daemon)

    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    try:
        imap_ok(m.select("INBOX"))
        uid = {mid: str(server[mid]["uid"]) for mid in ids}
        imap_ok(m.uid("STORE", uid[ids[0]], "+FLAGS", "(\\Seen)"))
        imap_ok(m.uid("STORE", uid[ids[1]], "+FLAGS", "(\\Flagged)"))
        imap_ok(m.uid("STORE", uid[ids[2]], "+FLAGS",
                      "(\\Seen \\Answered \\Flagged)"))
        imap_ok(m.uid("STORE", uid[ids[3]] + "," + uid[ids[4]], "+FLAGS",
                      "(\\Deleted)"))
        imap_ok(m.expunge())
        appended = simple_message("appended on the server", "Hi.\r\n")
        imap_ok(m.append("INBOX", "(\\Seen)", None, appended))
        filed = simple_message("filed on the server", "Filed.\r\n")
        imap_ok(m.create("Archive.2023"))
        imap_ok(m.append("Archive.2023", None, None, filed))
        trashed = simple_message("moved to trash", "Bye.\r\n")
        imap_ok(m.append("Trash", "(\\Seen)", None, trashed))
    finally:
        m.logout()
    late = simple_message("delivered between syncs", "Late.\r\n")
    deliver(daemon, [late])

    sync.run()

    local = maildir_messages(sync.box())
    assert local[ids[0]]["flags"] == "S"
    assert local[ids[1]]["flags"] == "F"
    assert local[ids[2]]["flags"] == "FRS"
    assert ids[3] not in local and ids[4] not in local
    for mid in ids[5:]:
        assert local[mid]["flags"] == ""
    assert local[message_id(appended)]["flags"] == "S"
    assert without_tuid(local[message_id(appended)]["body"]) == \
        lf(appended)
    assert without_tuid(local[message_id(late)]["body"]) == \
        lf(delivered_as(late))
    assert len(local) == 10 - 2 + 2

    archive = maildir_messages(sync.local / "Archive" / "2023")
    assert list(archive) == [message_id(filed)]
    assert without_tuid(archive[message_id(filed)]["body"]) == lf(filed)
    trash = maildir_messages(sync.box("Trash"))
    assert list(trash) == [message_id(trashed)]
    assert trash[message_id(trashed)]["flags"] == "S"

    # And back: a flag cleared on the server is cleared locally.
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    try:
        imap_ok(m.select("INBOX"))
        server = folder_state(m)
        imap_ok(m.select("INBOX"))
        imap_ok(m.uid("STORE", str(server[ids[2]]["uid"]), "-FLAGS",
                      "(\\Flagged)"))
    finally:
        m.logout()
    sync.run()
    assert maildir_messages(sync.box())[ids[2]]["flags"] == "RS"


def test_mbsync_deliveries_during_a_sync_are_neither_lost_nor_doubled(
        daemon, tmp_path):
    run = uuid.uuid4().hex[:8]
    first = [numbered_message(i, run) for i in range(1, 151)]
    deliver(daemon, first, timeout=60)
    daemon.wait_landed(150, user="alice", folder="INBOX", timeout=60)
    sync = Mbsync(daemon, tmp_path)
    cmd = [tool("mbsync"), "-c", str(sync.config), "-a"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=client_env(tmp_path))
    try:
        more = [numbered_message(i, run) for i in range(151, 211)]
        for n in range(0, len(more), 5):
            deliver(daemon, more[n:n + 5])
        out, _ = proc.communicate(timeout=CLIENT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, out.decode("utf-8", "replace")
    daemon.wait_landed(210, user="alice", folder="INBOX", timeout=60)

    sync.run()
    server = server_state(daemon)
    local = maildir_messages(sync.box())
    assert len(server) == 210
    assert sorted(local) == sorted(server)
    for mid, v in server.items():
        assert without_tuid(local[mid]["body"]) == lf(v["body"]), mid
    # Nothing left to do.
    paths = sorted(v["path"] for v in local.values())
    sync.run()
    assert sorted(v["path"] for v in
                  maildir_messages(sync.box()).values()) == paths


def test_mbsync_folder_names_with_spaces_both_ways(daemon, tmp_path):
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    try:
        imap_ok(m.create('"Old Stuff"'))
        old = simple_message("kept on the server", "Old.\r\n")
        imap_ok(m.append('"Old Stuff"', None, None, old))
    finally:
        m.logout()
    sync = Mbsync(daemon, tmp_path)
    local_box = make_maildir(sync.local / "Reports 2024")
    report = lf(simple_message("report", "Numbers.\r\n"))
    (local_box / "new" / "1700000002.M3P1.localhost").write_bytes(report)

    sync.run()

    got = maildir_messages(sync.local / "Old Stuff")
    assert list(got) == [message_id(old)]
    assert without_tuid(got[message_id(old)]["body"]) == lf(old)
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    try:
        folders = list_folders(m)
        assert "Reports 2024" in folders and "Old Stuff" in folders, folders
        state = folder_state(m, "Reports 2024")
        assert list(state) == [message_id(report)]
        assert without_tuid(state[message_id(report)]["body"]) == \
            report.replace(b"\n", b"\r\n")
    finally:
        m.logout()
    sync.run()


def test_mbsync_state_survives_daemon_restart_and_crash(daemon, tmp_path):
    run = uuid.uuid4().hex[:8]
    msgs = [numbered_message(i, run) for i in range(1, 21)]
    deliver(daemon, msgs)
    daemon.wait_landed(20, user="alice", folder="INBOX")
    sync = Mbsync(daemon, tmp_path)
    sync.run()
    local = maildir_messages(sync.box())
    set_maildir_flags(local[message_id(msgs[0])]["path"], "S")
    set_maildir_flags(local[message_id(msgs[1])]["path"], "F")
    sync.run()
    before = server_state(daemon)

    # A clean restart: UIDVALIDITY and UIDs stay, so mbsync carries on
    # where it left off (a changed UIDVALIDITY makes it stop with an
    # error, a renumbering would duplicate messages).
    daemon.restart()
    sync.write_config()
    more = [numbered_message(i, run) for i in range(21, 26)]
    deliver(daemon, more)
    sync.run()
    after = server_state(daemon)
    for mid, v in before.items():
        assert (after[mid]["uid"], after[mid]["flags"]) == \
            (v["uid"], v["flags"]), mid
    assert min(after[message_id(x)]["uid"] for x in more) > \
        max(v["uid"] for v in before.values())
    local = maildir_messages(sync.box())
    assert sorted(local) == sorted(after) and len(local) == 25

    # A crash (SIGKILL) right after changes made through IMAP.
    m = imap_login(daemon, timeout=IMAP_TIMEOUT)
    try:
        imap_ok(m.select("INBOX"))
        imap_ok(m.uid("STORE", str(after[message_id(msgs[2])]["uid"]),
                      "+FLAGS", "(\\Answered \\Seen)"))
        imap_ok(m.uid("STORE", str(after[message_id(msgs[3])]["uid"]),
                      "+FLAGS", "(\\Deleted)"))
        imap_ok(m.expunge())
    finally:
        m.logout()
    daemon.kill9()
    daemon.start()
    sync.write_config()
    sync.run()
    local = maildir_messages(sync.box())
    assert local[message_id(msgs[2])]["flags"] == "RS"
    assert message_id(msgs[3]) not in local
    final = server_state(daemon)
    assert sorted(local) == sorted(final) and len(local) == 24
    for mid, v in final.items():
        assert v["uid"] == after[mid]["uid"], mid


def test_mbsync_sasl_plain_and_refused_password(daemon, tmp_path):
    msgs = [simple_message("plain %d" % i) for i in range(3)]
    deliver(daemon, msgs)
    daemon.wait_landed(3, user="alice")
    sync = Mbsync(daemon, tmp_path, auth="PLAIN")
    sync.run()
    local = maildir_messages(sync.box())
    assert sorted(local) == sorted(message_id(x) for x in msgs)

    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = Mbsync(daemon, bad_dir, auth="LOGIN", password="wrong-password")
    rc, out = bad.run(check=False)
    assert rc != 0, out
    assert re.search(r"IMAP command 'LOGIN <user> <pass>' returned an "
                     r"error: NO ", out), out
    assert not (bad.local / "INBOX" / "cur").exists() or \
        not maildir_messages(bad.local / "INBOX"), out


def test_mbsync_over_imaps_and_starttls(daemon, tmp_path):
    """mbsync with SSLType IMAPS and STARTTLS, trusting the daemon's
    self-signed certificate through CertificateFile, both ways."""
    msgs = [simple_message("tls %d" % i) for i in range(3)]
    deliver(daemon, msgs)
    daemon.wait_landed(3, user="alice")
    for tls in ("IMAPS", "STARTTLS"):
        d = tmp_path / tls
        d.mkdir()
        sync = Mbsync(daemon, d, tls=tls)
        rc, out = sync.run()
        local = maildir_messages(sync.box())
        assert sorted(local) == sorted(message_id(x) for x in msgs), out
        # A message made locally goes up over TLS too.
        new = simple_message("from %s" % tls)
        (sync.box() / "new" / ("%s.1.local" % tls)).write_bytes(lf(new))
        sync.run()
        assert message_id(new) in server_state(daemon)
        msgs.append(new)
    # Without the certificate mbsync refuses the server.
    d = tmp_path / "untrusted"
    d.mkdir()
    sync = Mbsync(daemon, d, tls="IMAPS")
    sync.config.write_text(sync.config.read_text().replace(
        "CertificateFile", "# CertificateFile"))
    rc, out = sync.run(check=False)
    assert rc != 0 and "certificate" in out.lower(), out


# ======================================================================
# neomutt in tmux
# ======================================================================

NEOMUTT_DONE = "neomutt exited with status"
# The help lines that tell neomutt's screens apart.
INDEX_HELP = "q:Quit  d:Del  u:Undel"
PAGER_HELP = "i:Exit  -:PrevPg  <Space>:NextPg"
ATTACH_HELP = "q:Exit  s:Save  |:Pipe"


def neomutt(daemon, tmp_path, extra=(), folder=None):
    """neomutt on alice's INBOX in a detached 132x40 tmux session. The
    pane runs a shell that reports neomutt's exit status and stays open,
    so the screen can always be read. folder: the server's URL, if not
    IMAP in clear on the daemon's port."""
    rc = tmp_path / "neomuttrc"
    cache = tmp_path / "neomutt-cache"
    cache.mkdir(exist_ok=True)
    folder = folder or "imap://alice@127.0.0.1:%d/" % daemon.ports["imap"]
    rc.write_text("\n".join([
        "set folder=%s" % folder,
        "set imap_user=alice",
        "set imap_pass=%s" % PASSWORD,
        "set imap_authenticators=plain",
        "set spoolfile=+INBOX",
        "set record=",
        "set postponed=+Drafts",
        "set header_cache=",
        "set message_cachedir=",
        "set ssl_starttls=no",
        "set ssl_force_tls=no",
        "set imap_check_subscribed=no",
        "set imap_passive=no",
        "set mailcap_path=%s" % (tmp_path / "no-mailcap"),
        "set tmpdir=%s" % cache,
        "set sort=date-sent",
        "set date_format='%Y-%m-%d'",
        "set index_format='%4C %Z %d %-20.20L %s'",
        "set quit=yes",
        "set move=no",
        "set delete=yes",
        "set confirmappend=no",
        "set mark_old=no",
        "set beep=no",
        "set resolve=no",
        "set help=yes",
        "set wait_key=no",
        "set pager_stop=yes",
        "set timeout=1",
        "set mail_check=1",
        "set imap_idle=yes",
        "set imap_keepalive=30",
    ] + list(extra)) + "\n")
    env = client_env(tmp_path)
    env["TERM"] = "xterm-256color"
    command = ("%s -n -F %s 2>%s; echo '%s' $?; sleep 600"
               % (tool("neomutt"), rc, tmp_path / "neomutt.err",
                  NEOMUTT_DONE))
    return Terminal(command, env)


def neomutt_quit(term, tmp_path):
    """Leave neomutt from the index and check it exited cleanly."""
    term.keys("q")
    screen = term.wait_text(NEOMUTT_DONE, timeout=30)
    err = (tmp_path / "neomutt.err").read_text(errors="replace")
    assert NEOMUTT_DONE + " 0" in screen, (screen, err)


def test_neomutt_shows_a_mime_message_and_its_attachment(daemon, tmp_path):
    tool("tmux")
    pdf = b"%PDF-1.4\n%mailbell\n" + bytes(range(256)) * 8
    subject = "Quarterly figures %s" % uuid.uuid4().hex[:6]
    msg = mime_message(subject, "Dear Alice,\r\nthe figures are attached."
                       "\r\nRegards, Bob\r\n", "quarterly-report.pdf", pdf)
    deliver(daemon, [msg])
    daemon.wait_landed(1, user="alice")

    term = neomutt(daemon, tmp_path)
    try:
        index = term.wait_all([INDEX_HELP, subject], timeout=60)
        assert "Bob Sender" in index, index
        assert "INBOX" in index, index
        term.keys("Enter")
        page = term.wait_all([PAGER_HELP, "Dear Alice,",
                              "the figures are attached.", "Regards, Bob",
                              "[-- Type: application/pdf, Encoding: base64"])
        assert "[-- Attachment #2: quarterly-report.pdf --]" in page, page
        assert "Subject: " + subject in page, page
        # The attachment menu names the parts too.
        term.keys("v")
        menu = term.wait_all([ATTACH_HELP, "[applica/pdf, base64, "])
        assert re.search(r"quarterly-report\.pdf +\[applica/pdf, base64, ",
                         menu), menu
        assert "[text/plain, 8bit, utf-8, " in menu, menu
        term.keys("q")          # attachment menu -> pager
        term.wait_all([PAGER_HELP, "the figures are attached."],
                      absent=[ATTACH_HELP])
        term.keys("q")          # pager -> index
        term.wait_all([INDEX_HELP, subject],
                      absent=["the figures are attached."])
        neomutt_quit(term, tmp_path)
    finally:
        term.close()

    # Reading it made it \Seen on the server.
    state = server_state(daemon)
    assert state[message_id(msg)]["flags"] == {"\\Seen"}, state
    assert state[message_id(msg)]["body"] == delivered_as(msg)


def neomutt_with_three(daemon, tmp_path, subjects_bodies):
    """Deliver three messages, each subject a word and a fresh tag, dated
    1, 2 and 3 January 2024; start neomutt and wait until its index shows
    all three. Returns (terminal, tag, [messages])."""
    tool("tmux")
    tag = uuid.uuid4().hex[:6]
    msgs = [simple_message("%s %s" % (word, tag), body,
                           date="%s, 0%d Jan 2024 10:00:00 +0000" % (day, n))
            for (word, body), day, n in zip(subjects_bodies,
                                            ("Mon", "Tue", "Wed"), (1, 2, 3))]
    deliver(daemon, msgs)
    daemon.wait_landed(3, user="alice")

    term = neomutt(daemon, tmp_path)
    try:
        term.wait_for(lambda s: all("%s %s" % (w, tag) in s
                                    for w, _ in subjects_bodies),
                      timeout=60, what="three subjects")
    except BaseException:
        term.close()
        raise
    return term, tag, msgs


def test_neomutt_flags_deletes_and_sees_new_mail(daemon, tmp_path):
    term, tag, (first, second, third) = neomutt_with_three(
        daemon, tmp_path, [("alpha", "First.\r\n"), ("bravo", "Second.\r\n"),
                           ("charlie", "Third.\r\n")])
    try:
        # Sorted by date: alpha is first. Flag it, move to bravo and
        # delete it (the cursor stays put: resolve=no), write changes.
        term.keys("Home")
        term.keys("F")
        term.wait_for(lambda s: _index_line(s, "alpha " + tag, "!"),
                      timeout=15, what="alpha flagged")
        term.keys("j")
        term.keys("d")
        term.wait_for(lambda s: _index_line(s, "bravo " + tag, "D"),
                      timeout=15, what="bravo marked deleted")
        term.keys("$")
        term.wait_for(lambda s: "bravo " + tag not in s, timeout=30,
                      what="bravo gone after sync")

        # New mail while neomutt is open (IDLE or a periodic check).
        news = simple_message("delta %s" % tag, "Fourth.\r\n",
                              date="Thu, 04 Jan 2024 10:00:00 +0000")
        deliver(daemon, [news])
        term.wait_text("delta " + tag, timeout=60)
        neomutt_quit(term, tmp_path)
    finally:
        term.close()

    state = server_state(daemon)
    assert message_id(second) not in state
    assert state[message_id(first)]["flags"] == {"\\Flagged"}, state
    assert state[message_id(third)]["flags"] == set(), state
    assert state[message_id(news)]["flags"] == set(), state
    assert len(state) == 3


def _index_line(screen, subject, flag):
    """True if the index line with this subject shows flag in its status
    column."""
    for line in screen.splitlines():
        if subject in line:
            m = re.match(r"^\s*\d+\s+(\S*)", line)
            return bool(m) and flag in line[:line.index(subject)]
    return False


def test_neomutt_follows_changes_made_by_another_client(daemon, tmp_path):
    tool("tmux")
    tag = uuid.uuid4().hex[:6]
    names = ["echo", "foxtrot", "golf", "hotel", "india"]
    msgs = [simple_message("%s %s" % (w, tag), "%s.\r\n" % w,
                           date="Mon, %02d Jan 2024 10:00:00 +0000" % (n + 1))
            for n, w in enumerate(names)]
    deliver(daemon, msgs)
    daemon.wait_landed(5, user="alice")

    term = neomutt(daemon, tmp_path)
    try:
        term.wait_for(lambda s: all("%s %s" % (w, tag) in s for w in names),
                      timeout=60, what="five subjects")
        # Another client flags one message, expunges two and a new one
        # arrives, all while neomutt has the folder open.
        state = server_state(daemon)
        m = imap_login(daemon, timeout=IMAP_TIMEOUT)
        try:
            imap_ok(m.select("INBOX"))
            uid = {w: str(state[message_id(x)]["uid"])
                   for w, x in zip(names, msgs)}
            imap_ok(m.uid("STORE", uid["foxtrot"], "+FLAGS", "(\\Flagged)"))
            imap_ok(m.uid("STORE", uid["golf"] + "," + uid["hotel"],
                          "+FLAGS", "(\\Deleted)"))
            imap_ok(m.expunge())
        finally:
            m.logout()
        late = simple_message("juliet %s" % tag, "Late.\r\n",
                              date="Sat, 06 Jan 2024 10:00:00 +0000")
        deliver(daemon, [late])

        def updated(screen):
            return ("golf " + tag not in screen
                    and "hotel " + tag not in screen
                    and "juliet " + tag in screen
                    and _index_line(screen, "foxtrot " + tag, "!")
                    and "echo " + tag in screen
                    and "india " + tag in screen)
        screen = term.wait_for(updated, timeout=60,
                               what="the other client's changes")
        assert "Msgs:4" in screen, screen
        neomutt_quit(term, tmp_path)
    finally:
        term.close()

    state = server_state(daemon)
    assert {k: v["flags"] for k, v in state.items()} == {
        message_id(msgs[0]): set(), message_id(msgs[1]): {"\\Flagged"},
        message_id(msgs[4]): set(), message_id(late): set()}


def test_neomutt_saves_messages_to_a_new_and_an_existing_folder(daemon,
                                                                 tmp_path):
    term, tag, (keep, archive, trash) = neomutt_with_three(
        daemon, tmp_path, [("kilo", "Keep me.\r\n"),
                           ("lima", "Archive me.\r\n"),
                           ("mike", "Bin me.\r\n")])
    try:
        term.keys("Home")
        term.keys("j")              # lima
        term.keys("s")
        term.wait_text("Save to mailbox", timeout=15)
        term.keys("C-u")
        term.keys("=Archive", literal=True)
        term.keys("Enter")
        term.wait_text("Create ", timeout=30)
        term.keys("y")
        term.wait_for(lambda s: _index_line(s, "lima " + tag, "D"),
                      timeout=30, what="lima saved and marked deleted")
        term.keys("j")              # mike
        term.keys("s")
        term.wait_text("Save to mailbox", timeout=15)
        term.keys("C-u")
        term.keys("=Trash", literal=True)
        term.keys("Enter")
        term.wait_for(lambda s: _index_line(s, "mike " + tag, "D"),
                      timeout=30, what="mike saved and marked deleted")
        term.keys("$")
        term.wait_for(lambda s: "lima " + tag not in s
                      and "mike " + tag not in s and "kilo " + tag in s,
                      timeout=30, what="only kilo left")
        neomutt_quit(term, tmp_path)
    finally:
        term.close()

    inbox = server_state(daemon)
    assert list(inbox) == [message_id(keep)]
    got = server_state(daemon, "Archive")
    assert list(got) == [message_id(archive)]
    assert got[message_id(archive)]["body"] == delivered_as(archive)
    got = server_state(daemon, "Trash")
    assert list(got) == [message_id(trash)]
    assert got[message_id(trash)]["body"] == delivered_as(trash)


def test_neomutt_opens_a_200_message_folder(daemon, tmp_path):
    tool("tmux")
    run = uuid.uuid4().hex[:8]
    msgs = [numbered_message(i, run) for i in range(1, 201)]
    deliver(daemon, msgs, timeout=60)
    daemon.wait_landed(200, user="alice", folder="INBOX", timeout=60)

    term = neomutt(daemon, tmp_path)
    try:
        term.wait_all([INDEX_HELP, "Msgs:200 "], timeout=90)
        # Sorted by date, the last message is the newest: number 200,
        # plain text with lines that start with dots.
        term.keys("End")
        term.wait_text("message 200 of run " + run, timeout=30)
        term.keys("Enter")
        page = term.wait_all([PAGER_HELP, "Message number 200.",
                              "line 0 of message 200"])
        assert ".a line that starts with a dot" in page, page
        assert "..two dots" in page, page
        term.keys("q")
        term.wait_all([INDEX_HELP, "Msgs:200 "], absent=[PAGER_HELP])
        # Message 14 has an attachment: find it with a search.
        term.keys("/")
        term.wait_text("Search for: ")
        term.keys("message 014 of run", literal=True)
        term.keys("Enter")
        term.wait_all([INDEX_HELP], absent=["Search for: "])
        term.keys("Enter")
        page = term.wait_all([PAGER_HELP, "Message number 14.",
                              "[-- Attachment #2: data-014.bin --]"])
        term.keys("q")
        term.wait_all([INDEX_HELP, "Msgs:200 "], absent=[PAGER_HELP])
        neomutt_quit(term, tmp_path)
    finally:
        term.close()
    state = server_state(daemon)
    seen = sorted(int(re.search(rb"message (\d+) of", v["body"]).group(1))
                  for v in state.values() if "\\Seen" in v["flags"])
    assert seen == [14, 200]


def test_neomutt_with_certificate_verification(daemon, tmp_path):
    """neomutt over IMAPS and over STARTTLS with TLS forced and the
    certificate checked: the daemon's certificate is trusted through
    certificate_file and names the host (localhost)."""
    tool("tmux")
    subject = "Over TLS %s" % uuid.uuid4().hex[:6]
    deliver(daemon, [simple_message(subject)])
    daemon.wait_landed(1, user="alice")
    trusted = tmp_path / "trusted.pem"
    trusted.write_bytes((daemon.data_dir / "tls" /
                         "mailbell.crt").read_bytes())
    verify = ["set certificate_file=%s" % trusted,
              "set ssl_force_tls=yes",
              "set ssl_verify_host=yes",
              "set ssl_verify_dates=yes"]
    for name, folder, starttls in (
            ("imaps", "imaps://alice@localhost:%d/" % daemon.ports["imaps"],
             "no"),
            ("starttls", "imap://alice@localhost:%d/" % daemon.ports["imap"],
             "yes")):
        d = tmp_path / name
        d.mkdir()
        term = neomutt(daemon, d, extra=verify + ["set ssl_starttls=%s"
                                                  % starttls],
                       folder=folder)
        try:
            index = term.wait_all([INDEX_HELP, subject], timeout=60)
            assert "INBOX" in index, index
            neomutt_quit(term, d)
        finally:
            term.close()
    # An empty certificate_file: neomutt does not trust the server and
    # asks, rather than going on.
    d = tmp_path / "untrusted"
    d.mkdir()
    (d / "empty.pem").write_text("")
    term = neomutt(daemon, d, extra=["set certificate_file=%s"
                                     % (d / "empty.pem"),
                                     "set ssl_force_tls=yes"],
                   folder="imaps://alice@localhost:%d/"
                   % daemon.ports["imaps"])
    try:
        screen = term.wait_text("(r)eject", timeout=60)
        assert subject not in screen, screen
    finally:
        term.close()



def _resync_modseq(client):
    """The MODSEQ a client named to resynchronise a folder: UID FETCH
    (CHANGEDSINCE n VANISHED), as neomutt does, or SELECT (QRESYNC (v n))."""
    m = (re.search(r"UID FETCH \S+ \(FLAGS\) \(CHANGEDSINCE (\d+) VANISHED\)",
                   client)
         or re.search(r"SELECT \S+ \(QRESYNC \(\d+ (\d+)", client))
    return int(m.group(1)) if m else None


def _fetched_uids(server):
    """The UIDs of the untagged FETCH responses the server sent."""
    return {int(u) for u in
            re.findall(r"^\* \d+ FETCH \(.*?\bUID (\d+)", server, re.M)}


def test_neomutt_resyncs_from_its_header_cache_with_qresync(daemon,
                                                            tmp_path):
    """neomutt with a header cache and imap_condstore and imap_qresync
    set reopens INBOX after another client changed it: one UID FETCH
    (CHANGEDSINCE n VANISHED) brings the changed flags and the expunged
    UIDs, then it fetches the new message's headers only. A relay between
    neomutt and the daemon keeps what they said to each other."""
    tool("tmux")
    tag = uuid.uuid4().hex[:6]
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    msgs = dict((w, simple_message(
        "%s %s" % (w, tag), "%s.\r\n" % w,
        date="Mon, %02d Jan 2024 10:00:00 +0000" % (n + 1)))
        for n, w in enumerate(names))
    deliver(daemon, [msgs[w] for w in names[:4]])
    daemon.wait_landed(4, user="alice")
    hcache = tmp_path / "hcache"
    hcache.mkdir()
    tap = TapRelay(daemon.ports["imap"])
    # The header cache is kept per server address: every run goes
    # through the same relay.
    extra = ["set header_cache=%s/" % hcache, "set imap_condstore=yes",
             "set imap_qresync=yes"]

    def run(shows, what):
        """neomutt until its index shows what shows() wants, then quit;
        returns (screen, what neomutt sent, what the server sent)."""
        first = len(tap.conversations())
        term = neomutt(daemon, tmp_path, extra=extra,
                       folder="imap://alice@127.0.0.1:%d/" % tap.port)
        try:
            screen = term.wait_for(lambda s: INDEX_HELP in s and shows(s),
                                   timeout=60, what=what)
            neomutt_quit(term, tmp_path)
        finally:
            term.close()
        said = tap.conversations()[first:]
        return (screen, "".join(c.decode("latin-1") for c, _ in said),
                "".join(s.decode("latin-1") for _, s in said))

    def listed(screen, present, absent=()):
        return (all("%s %s" % (w, tag) in screen for w in present)
                and not any("%s %s" % (w, tag) in screen for w in absent)
                and "Msgs:%d " % len(present) in screen)

    def changed_by_another_client(flag=(), expunge=()):
        state = server_state(daemon)
        uid = {w: str(state[message_id(x)]["uid"]) for w, x in msgs.items()
               if message_id(x) in state}
        m = imap_login(daemon, timeout=IMAP_TIMEOUT)
        try:
            imap_ok(m.select("INBOX"))
            for w in flag:
                imap_ok(m.uid("STORE", uid[w], "+FLAGS", "(\\Flagged)"))
            for w in expunge:
                imap_ok(m.uid("STORE", uid[w], "+FLAGS", "(\\Deleted)"))
            imap_ok(m.expunge())
        finally:
            m.logout()
        return {w: int(u) for w, u in uid.items()}

    try:
        # First open: neomutt is offered both, enables QRESYNC, selects
        # with CONDSTORE and fills its cache with the folder's MODSEQ.
        screen, client, server = run(
            lambda s: listed(s, names[:4]), "the first four")
        caps = re.findall(r"CAPABILITY ([^\]\r\n]*)", server)
        assert caps and {"CONDSTORE", "QRESYNC"} <= set(caps[-1].split()), \
            caps
        assert re.search(r"^\S+ ENABLE (\S+ )*QRESYNC\r$", client, re.M), \
            client
        assert re.search(r"^\* ENABLED (\S+ )*QRESYNC\r$", server, re.M), \
            server
        assert re.search(r'^\S+ SELECT "?INBOX"? \((CONDSTORE|QRESYNC)',
                         client, re.M), client
        modseq = int(re.search(r"\[HIGHESTMODSEQ (\d+)\]", server).group(1))

        # A flag set and a message delivered while neomutt is away: the
        # server tells it of exactly those two messages.
        uid = changed_by_another_client(flag=["bravo"])
        deliver(daemon, [msgs["echo"]])
        screen, client, server = run(
            lambda s: listed(s, names[:5])
            and _index_line(s, "bravo " + tag, "!"),
            "echo arrived and bravo flagged")
        assert _resync_modseq(client) == modseq, client
        assert re.search(r"^\* \d+ FETCH \(UID %d MODSEQ \(\d+\) "
                         r"FLAGS \(\\Flagged\)\)\r$" % uid["bravo"],
                         server, re.M), server
        assert _fetched_uids(server) == {uid["bravo"], max(uid.values()) + 1}
        assert "Subject: echo " + tag in server, server
        assert "Subject: alpha " + tag not in server, server
        modseq = int(re.search(r"\[HIGHESTMODSEQ (\d+)\]", server).group(1))

        # A flag set, a message expunged and another delivered: the
        # expunged UID comes as VANISHED (EARLIER). (neomutt 20220429
        # then checks its index, does not trust it after a VANISHED and
        # fetches every message's flags once more: the folder it shows
        # is right either way.)
        uid = changed_by_another_client(flag=["delta"], expunge=["charlie"])
        deliver(daemon, [msgs["foxtrot"]])
        screen, client, server = run(
            lambda s: listed(s, ["alpha", "bravo", "delta", "echo",
                                 "foxtrot"], absent=["charlie"])
            and _index_line(s, "bravo " + tag, "!")
            and _index_line(s, "delta " + tag, "!")
            and not _index_line(s, "echo " + tag, "!"),
            "charlie gone, foxtrot arrived and delta flagged")
        assert _resync_modseq(client) == modseq, client
        assert re.search(r"^\* VANISHED \(EARLIER\) %d\r$" % uid["charlie"],
                         server, re.M), server
        assert re.search(r"^\* \d+ FETCH \(UID %d MODSEQ \(\d+\) "
                         r"FLAGS \(\\Flagged\)\)\r$" % uid["delta"],
                         server, re.M), server
        assert "Subject: alpha " + tag not in server, server
    finally:
        tap.close()

    state = server_state(daemon)
    assert {k: v["flags"] for k, v in state.items()} == {
        message_id(msgs["alpha"]): set(),
        message_id(msgs["bravo"]): {"\\Flagged"},
        message_id(msgs["delta"]): {"\\Flagged"},
        message_id(msgs["echo"]): set(),
        message_id(msgs["foxtrot"]): set()}
