"""
Folder listing and folder counts against the real daemon, with the
exact responses (raw sockets): STATUS SIZE (RFC 8438), the extended
LIST of RFC 5258 with RFC 6154's SPECIAL-USE options and RFC 5819's
STATUS return option, and CREATE-SPECIAL-USE (RFC 6154 3); each
example of
RFC 5258 section 5 replayed on mailbell's hierarchy ("." separator;
INBOX, Drafts, Junk, Sent and Trash exist from the first login).

The order of attributes inside one response is mailbell's:
\\Subscribed, \\NonExistent, \\HasChildren or \\HasNoChildren, then the
special use. The RFC's examples do not agree among themselves (example
2 has "\\Subscribed \\NonExistent", example 11 "\\NonExistent
\\HasChildren", example 8 C "\\HasChildren \\Subscribed"); attributes are
a set (RFC 5258 3.3). mailbell has no \\Marked, \\NoInferiors or remote
folders, so the RFC's lines with those lose them.
"""

import re

from conftest import make_message


def append(c, tag, mailbox, msg):
    c.send(b"%s APPEND %s {%d+}\r\n" % (tag.encode(), mailbox.encode(),
                                         len(msg)) + msg + b"\r\n")
    line = c.line()
    assert line.startswith("%s OK [APPENDUID " % tag), line


def fetch_sizes(c, mailbox):
    """{uid: RFC822.SIZE} of every message of mailbox."""
    c.cmd("fs", "EXAMINE %s" % mailbox)
    sizes = {}
    for line in c.cmd("fz", "UID FETCH 1:* RFC822.SIZE")[:-1]:
        m = re.match(r"^\* \d+ FETCH \(UID (\d+) RFC822\.SIZE (\d+)\)$",
                     line)
        assert m, line
        sizes[int(m.group(1))] = int(m.group(2))
    c.cmd("fc", "CLOSE")
    return sizes


# ---- STATUS SIZE (RFC 8438) ----

def test_status_size_is_the_sum_of_rfc822_size(daemon):
    """SIZE counts each message as sent (CRLF line ends), whatever its
    file holds: a bare-LF APPEND is counted with CRLF."""
    with daemon.imap() as c:
        c.login()
        assert c.cmd("a", "STATUS INBOX (SIZE)") == [
            "* STATUS INBOX (SIZE 0)", "a OK Status completed"]
        crlf = make_message("crlf")
        lf = crlf.replace(b"\r\n", b"\n")
        append(c, "b", "INBOX", crlf)
        append(c, "c", "INBOX", lf)
        assert c.cmd("d", "STATUS INBOX (MESSAGES SIZE UNSEEN)") == [
            "* STATUS INBOX (MESSAGES 2 SIZE %d UNSEEN 2)" % (2 * len(crlf)),
            "d OK Status completed"]
        assert sum(fetch_sizes(c, "INBOX").values()) == 2 * len(crlf)
        assert c.cmd("e", "status inbox (size size)") == [
            "* STATUS INBOX (SIZE %d)" % (2 * len(crlf)),
            "e OK Status completed"]


def test_status_size_of_a_file_another_program_wrote(daemon):
    """A message without W= in its name (procmail, a copied Maildir) is
    counted from the file, with its bare LFs as CRLF."""
    with daemon.imap() as c:
        c.login()
        c.cmd("a", "CREATE Copied")
        body = b"Subject: old\n\nline one\nline two\n"
        cur = daemon.folder_dir("alice", "Copied") / "cur"
        (cur / "1700000000.M1P1.elsewhere:2,S").write_bytes(body)
        size = len(body) + body.count(b"\n")
        assert c.cmd("b", "STATUS Copied (SIZE MESSAGES UNSEEN)") == [
            "* STATUS Copied (SIZE %d MESSAGES 1 UNSEEN 0)" % size,
            "b OK Status completed"]
        assert fetch_sizes(c, "Copied") == {1: size}


def test_status_size_unknown_item_and_nonexistent(daemon):
    with daemon.imap() as c:
        c.login()
        assert c.cmd("a", "STATUS INBOX (SIZES)") == [
            "a BAD Unknown STATUS item"]
        assert c.cmd("b", "STATUS Nope (SIZE)") == [
            "b NO [NONEXISTENT] Mailbox does not exist"]


# ---- LIST-EXTENDED (RFC 5258) ----

SPECIALS = ("Drafts", "Junk", "Sent", "Trash")
# Their special-use attributes (RFC 6154).
SPECIAL_USE = {"Drafts": "\\Drafts", "Junk": "\\Junk", "Sent": "\\Sent",
               "Trash": "\\Trash"}


def setup_folders(c, create=(), subscribe=(), unsubscribe_specials=True):
    """Create folders, and leave exactly the given names subscribed."""
    for i, name in enumerate(create):
        assert c.cmd("cr%d" % i, "CREATE %s" % name) == [
            "cr%d OK Create completed" % i]
    if unsubscribe_specials:
        for i, name in enumerate(SPECIALS):
            c.cmd("un%d" % i, "UNSUBSCRIBE %s" % name)
    for i, name in enumerate(subscribe):
        assert c.cmd("su%d" % i, "SUBSCRIBE %s" % name) == [
            "su%d OK Subscribe completed" % i]


def lines(tag, *responses):
    return ['* LIST %s' % r for r in responses] + ["%s OK List completed"
                                                   % tag]


def folders(names, attrs=None, default=""):
    """The LIST responses (for lines()) of the folders names, in that
    order, each with the attributes attrs[name] (default if not there)."""
    attrs = attrs or {}
    return ['(%s) "." %s' % (attrs.get(n, default), n) for n in names]


FRUIT = ("Fruit", "Fruit.Apple", "Fruit.Banana", "Tofu", "Vegetable",
         "Vegetable.Broccoli", "Vegetable.Corn")
FRUIT_SUBSCRIBED = ("INBOX", "Fruit.Banana", "Fruit.Peach", "Vegetable",
                    "Vegetable.Broccoli")


def test_rfc5258_examples_1_to_6(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, FRUIT, FRUIT_SUBSCRIBED)
        # 2: subscribed names, Fruit.Peach among them though it is gone.
        assert c.cmd("A02", 'LIST (SUBSCRIBED) "" "*"') == lines(
            "A02",
            '(\\Subscribed) "." INBOX',
            '(\\Subscribed) "." Fruit.Banana',
            '(\\Subscribed \\NonExistent) "." Fruit.Peach',
            '(\\Subscribed) "." Vegetable',
            '(\\Subscribed) "." Vegetable.Broccoli')
        # 3 and 4: CHILDREN (REMOTE adds nothing: no remote folders).
        top = lines(
            "A03",
            '(\\HasNoChildren) "." INBOX',
            '(\\HasNoChildren) "." Drafts',
            '(\\HasChildren) "." Fruit',
            '(\\HasNoChildren) "." Junk',
            '(\\HasNoChildren) "." Sent',
            '(\\HasNoChildren) "." Tofu',
            '(\\HasNoChildren) "." Trash',
            '(\\HasChildren) "." Vegetable')
        assert c.cmd("A03", 'LIST () "" "%" RETURN (CHILDREN)') == top
        assert c.cmd("A03", 'LIST (REMOTE) "" "%" RETURN (CHILDREN)') == top
        # 5: two selection options.
        assert c.cmd("A05", 'LIST (REMOTE SUBSCRIBED) "" "*"') == \
            c.cmd("A05", 'LIST (SUBSCRIBED) "" "*"')
        # 6: the subscription state of existing names only.
        assert c.cmd("A06", 'LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)') == \
            lines("A06",
                  '(\\Subscribed) "." INBOX',
                  '() "." Drafts',
                  '() "." Fruit',
                  '() "." Fruit.Apple',
                  '(\\Subscribed) "." Fruit.Banana',
                  '() "." Junk',
                  '() "." Sent',
                  '() "." Tofu',
                  '() "." Trash',
                  '(\\Subscribed) "." Vegetable',
                  '(\\Subscribed) "." Vegetable.Broccoli',
                  '() "." Vegetable.Corn')


def test_rfc5258_example_7_several_patterns(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, ("Sent.March2004", "Sent.December2003",
                          "Sent.August2004"))
        assert c.cmd("BBB", 'LIST "" ("INBOX" "Drafts" "Sent.%")') == lines(
            "BBB",
            '() "." INBOX',
            '() "." Drafts',
            '() "." Sent.August2004',
            '() "." Sent.December2003',
            '() "." Sent.March2004')
        # A name two patterns match is listed once; "" matches nothing.
        assert c.cmd("BBC", 'LIST "" ("Dra*" "" "*fts")') == lines(
            "BBC", '() "." Drafts')
        assert c.cmd("BBD", 'LIST () "" ""') == ["BBD OK List completed"]
        # The reference is put before each pattern.
        assert c.cmd("BBE", 'LIST "Sent." ("M%" "A%")') == lines(
            "BBE", '() "." Sent.August2004', '() "." Sent.March2004')


def test_rfc5258_example_8_childinfo(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, ("Foo", "Foo.Bar", "Foo.Baz", "Moo"), ("Foo.Baz",))
        assert c.cmd("CA3", 'LIST "" "%" RETURN (CHILDREN)') == lines(
            "CA3", *folders(("INBOX", "Drafts", "Foo", "Junk", "Moo", "Sent",
                             "Trash"), {"Foo": "\\HasChildren"},
                            "\\HasNoChildren"))
        # A: only Foo.Baz is subscribed.
        assert c.cmd("C02", 'LIST (SUBSCRIBED) "" "*"') == lines(
            "C02", '(\\Subscribed) "." Foo.Baz')
        assert c.cmd("C03", 'LIST (SUBSCRIBED) "" "%"') == [
            "C03 OK List completed"]
        assert c.cmd("C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == \
            lines("C04", '() "." Foo ("CHILDINFO" ("SUBSCRIBED"))')
        # A1: Foo subscribed too.
        c.cmd("x1", "SUBSCRIBE Foo")
        assert c.cmd("C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == \
            lines("C04",
                  '(\\Subscribed) "." Foo ("CHILDINFO" ("SUBSCRIBED"))')
        # A2: Foo neither exists (only its children do) nor is
        # subscribed.
        c.cmd("x2", "UNSUBSCRIBE Foo")
        assert c.cmd("x3", "DELETE Foo") == ["x3 OK Delete completed"]
        assert c.cmd("C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == \
            lines("C04",
                  '(\\NonExistent) "." Foo ("CHILDINFO" ("SUBSCRIBED"))')
        # B: nothing subscribed, nothing listed.
        c.cmd("x4", "CREATE Foo")
        c.cmd("x5", "UNSUBSCRIBE Foo.Baz")
        assert c.cmd("C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == [
            "C04 OK List completed"]
        # C: Foo and Moo subscribed (the RFC writes "\HasChildren
        # \Subscribed"; see the module's note on order).
        c.cmd("x6", "SUBSCRIBE Foo")
        c.cmd("x7", "SUBSCRIBE Moo")
        assert c.cmd("C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" '
                     'RETURN (CHILDREN)') == lines(
            "C04",
            '(\\Subscribed \\HasChildren) "." Foo',
            '(\\Subscribed \\HasNoChildren) "." Moo')


def test_rfc5258_example_9_childinfo_and_pattern(daemon):
    with daemon.imap() as c:
        c.login()
        subscribed = ("foo2.bar1", "foo2.bar2", "baz2.bar2", "baz2.bar22",
                      "baz2.bar222", "eps2", "eps2.mamba", "qux2.bar2")
        setup_folders(c, ("foo2", "baz2") + subscribed, subscribed)
        assert c.cmd("D02", 'LIST (SUBSCRIBED) "" "*"') == lines(
            "D02", *['(\\Subscribed) "." %s' % n for n in sorted(subscribed)])
        assert c.cmd("D03", 'LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"') == \
            lines("D03",
                  '(\\Subscribed) "." baz2.bar2',
                  '(\\Subscribed) "." baz2.bar22',
                  '(\\Subscribed) "." baz2.bar222',
                  '(\\Subscribed) "." eps2 ("CHILDINFO" ("SUBSCRIBED"))',
                  '() "." foo2 ("CHILDINFO" ("SUBSCRIBED"))',
                  '(\\Subscribed) "." foo2.bar2',
                  '(\\Subscribed) "." qux2.bar2')
        # With "*" every subscribed child is listed itself, so the
        # CHILDINFO the RFC's second listing shows is the redundant kind
        # section 3.5 says a server SHOULD leave out; mailbell does.
        assert c.cmd("D04", 'LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"') == \
            lines("D04", *['(\\Subscribed) "." %s' % n
                           for n in sorted(subscribed)])


def test_rfc5258_example_10_childinfo_without_children(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, ("foo",), ("foo.bar",))
        assert c.cmd("a1", 'LIST "" ("foo" "foo.*")') == lines(
            "a1", '() "." foo')
        assert c.cmd("a2", 'LIST (SUBSCRIBED) "" "foo.*"') == lines(
            "a2", '(\\Subscribed \\NonExistent) "." foo.bar')
        assert c.cmd("a3", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" foo '
                     'RETURN (CHILDREN)') == lines(
            "a3", '(\\HasNoChildren) "." foo ("CHILDINFO" ("SUBSCRIBED"))')


def test_rfc5258_example_11_missing_levels(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, ("music.rock",))
        everyday = ['() "." INBOX', '() "." Drafts', '() "." Junk',
                    '() "." Sent', '() "." Trash']
        assert c.cmd("a1", 'LIST (REMOTE) "" *') == lines(
            "a1", *everyday + ['() "." music.rock'])
        assert c.cmd("a2", 'LIST () "" %') == lines(
            "a2", *everyday + ['(\\NonExistent \\HasChildren) "." music'])
        assert c.cmd("a3", 'LIST (REMOTE) "" %') == lines(
            "a3", *everyday + ['(\\NonExistent \\HasChildren) "." music'])
        assert c.cmd("a3.1", 'LIST "" (% music.rock)') == lines(
            "a3.1", *everyday + ['() "." music.rock'])
        # The plain LIST is as before: \Noselect and children always.
        assert c.cmd("p", 'LIST "" m%') == [
            '* LIST (\\Noselect \\HasChildren) "." music',
            "p OK List completed"]


def test_list_extended_refused(daemon):
    with daemon.imap() as c:
        c.login()
        for tag, args, text in (
                ("a", '(RECURSIVEMATCH) "" %',
                 "RECURSIVEMATCH needs SUBSCRIBED"),
                ("b", '(REMOTE RECURSIVEMATCH) "" %',
                 "RECURSIVEMATCH needs SUBSCRIBED"),
                ("c", '(SPECIAL-USE RECURSIVEMATCH) "" %',
                 "RECURSIVEMATCH needs SUBSCRIBED"),
                ("d", '(FOO) "" %', "Unknown LIST selection option"),
                ("e", '"" % RETURN (FOO)', "Unknown LIST return option"),
                ("f", '"" % RETURN CHILDREN',
                 "LIST needs a reference and a mailbox pattern"),
                ("g", '"" ()', "Empty list of mailbox patterns"),
                ("h", '"" (%s)' % " ".join(["x"] * 17),
                 "Too many mailbox patterns")):
            assert c.cmd(tag, "LIST " + args) == ["%s BAD %s" % (tag, text)]
        assert c.cmd("i", 'LSUB "" (%)') == [
            "i BAD LSUB needs a reference and a mailbox pattern"]
        assert c.cmd("j", 'LSUB (SUBSCRIBED) "" %') == [
            "j BAD LSUB needs a reference and a mailbox pattern"]


def test_lsub_unaffected(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, ("Foo", "Foo.Baz"), ("Foo.Baz", "Gone"))
        assert c.cmd("a", 'LSUB "" %') == [
            '* LSUB (\\Noselect) "." Foo', '* LSUB () "." Gone',
            "a OK Lsub completed"]


# ---- SPECIAL-USE options (RFC 6154 5.2) ----

def test_rfc6154_special_use_options(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, ("ToDo", "Projects", "Projects.Spam"))
        assert c.cmd("t2", 'LIST "" "%" RETURN (SPECIAL-USE)') == lines(
            "t2", *folders(("INBOX", "Drafts", "Junk", "Projects", "Sent",
                            "ToDo", "Trash"), SPECIAL_USE))
        assert c.cmd("t3", 'LIST (SPECIAL-USE) "" "*"') == lines(
            "t3", *folders(SPECIALS, SPECIAL_USE))
        assert c.cmd("t4", 'LIST (SPECIAL-USE) "" "%" '
                     'RETURN (CHILDREN SUBSCRIBED)') == lines(
            "t4", *folders(SPECIALS, {n: "\\HasNoChildren " + a
                                      for n, a in SPECIAL_USE.items()}))


# ---- LIST-STATUS (RFC 5819) ----

def test_rfc5819_list_status(daemon):
    with daemon.imap() as c:
        c.login()
        setup_folders(c, ("foo", "bar.baz"), ("INBOX",))
        msg = make_message("counted")
        for i in range(3):
            append(c, "i%d" % i, "INBOX", msg)
        c.send(b"j APPEND INBOX (\\Seen) {%d+}\r\n" % len(msg) + msg +
               b"\r\n")
        assert c.line().startswith("j OK [APPENDUID ")
        for i in range(2):
            append(c, "f%d" % i, "foo", msg)
        # 1: STATUS after each selectable folder's LIST line; the level
        # "bar" (only bar.baz exists) has none.
        assert c.cmd("A01", 'LIST "" % RETURN (STATUS (MESSAGES UNSEEN))') \
            == [
            '* LIST () "." INBOX',
            '* STATUS INBOX (MESSAGES 4 UNSEEN 3)',
            '* LIST () "." Drafts',
            '* STATUS Drafts (MESSAGES 0 UNSEEN 0)',
            '* LIST () "." Junk',
            '* STATUS Junk (MESSAGES 0 UNSEEN 0)',
            '* LIST () "." Sent',
            '* STATUS Sent (MESSAGES 0 UNSEEN 0)',
            '* LIST () "." Trash',
            '* STATUS Trash (MESSAGES 0 UNSEEN 0)',
            '* LIST (\\NonExistent \\HasChildren) "." bar',
            '* LIST () "." foo',
            '* STATUS foo (MESSAGES 2 UNSEEN 2)',
            "A01 OK List completed"]
        # 2: not after a folder listed only for its CHILDINFO.
        assert c.cmd("A02", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" % '
                     'RETURN (STATUS (MESSAGES))') == [
            '* LIST (\\Subscribed) "." INBOX',
            '* STATUS INBOX (MESSAGES 4)',
            "A02 OK List completed"]
        c.cmd("x", "SUBSCRIBE foo.sub")
        assert c.cmd("A03", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" % '
                     'RETURN (STATUS (MESSAGES))') == [
            '* LIST (\\Subscribed) "." INBOX',
            '* STATUS INBOX (MESSAGES 4)',
            '* LIST () "." foo ("CHILDINFO" ("SUBSCRIBED"))',
            "A03 OK List completed"]
        # Every STATUS item, SIZE too, with other return options; no
        # session has selected foo, so both its messages are recent.
        assert c.cmd("A04", 'LIST "" (foo) RETURN (CHILDREN STATUS '
                     '(UIDNEXT SIZE UIDVALIDITY RECENT))') == [
            '* LIST (\\HasNoChildren) "." foo',
            '* STATUS foo (UIDNEXT 3 SIZE %d UIDVALIDITY %d RECENT 2)'
            % (2 * len(msg), c.uidvalidity("foo")),
            "A04 OK List completed"]


def test_list_status_refused(daemon):
    with daemon.imap() as c:
        c.login()
        for tag, ret in (("a", "STATUS"), ("b", "STATUS ()"),
                         ("c", "STATUS (MESSAGES BOGUS)"),
                         ("d", "STATUS MESSAGES")):
            assert c.cmd(tag, 'LIST "" %% RETURN (%s)' % ret) == [
                "%s BAD STATUS needs a list of items" % tag]


# ---- CREATE-SPECIAL-USE (RFC 6154 3, 5.3) ----

def special_list(c, tag):
    return c.cmd(tag, 'LIST (SPECIAL-USE) "" "*"')


def test_rfc6154_create_special_use(daemon):
    with daemon.imap() as c:
        c.login()
        # 5.3: a folder with two uses.
        assert c.cmd("t2", "CREATE MySpecial (USE (\\Drafts \\Sent))") == [
            "t2 OK Create completed"]
        assert c.cmd("t3", 'LIST "" MySpecial') == [
            '* LIST (\\HasNoChildren \\Drafts \\Sent) "." MySpecial',
            "t3 OK List completed"]
        # The name defaults give way: Drafts and Sent lose theirs.
        assert special_list(c, "t4") == lines(
            "t4",
            '(\\Junk) "." Junk',
            '(\\Drafts \\Sent) "." MySpecial',
            '(\\Trash) "." Trash')
        assert c.cmd("t5", "CREATE MyTrash (use (\\trash))") == [
            "t5 OK Create completed"]
        # A use given once is not given again, and nothing is created.
        assert c.cmd("t6", "CREATE Bin (USE (\\Trash))") == [
            "t6 NO [USEATTR] Special use already given to another mailbox"]
        assert c.cmd("t7", "CREATE Bin (USE (\\All))") == [
            "t7 NO [USEATTR] Special use not supported"]
        assert c.cmd("t8", "CREATE Bin (USE (\\Flagged \\Archive))") == [
            "t8 NO [USEATTR] Special use not supported"]
        assert c.cmd("t9", 'LIST "" Bin') == ["t9 OK List completed"]
        # An existing name stays as it is.
        assert c.cmd("ta", "CREATE MyTrash (USE (\\Archive))") == [
            "ta NO [ALREADYEXISTS] Mailbox already exists"]
        assert c.cmd("tb", "CREATE Old (USE (\\Archive) USE ())") == [
            "tb OK Create completed"]
        assert c.cmd("tc", "CREATE Plain (USE ())") == [
            "tc OK Create completed"]
    want = lines("u",
                 '(\\Junk) "." Junk',
                 '(\\Drafts \\Sent) "." MySpecial',
                 '(\\Trash) "." MyTrash',
                 '(\\Archive) "." Old')
    # Durable: across a restart and after SIGKILL.
    daemon.restart()
    with daemon.imap() as c:
        c.login()
        assert special_list(c, "u") == want
    daemon.kill9()
    daemon.start()
    with daemon.imap() as c:
        c.login()
        assert special_list(c, "u") == want
        # The use follows RENAME, children included, and goes with
        # DELETE; the name default comes back then.
        assert c.cmd("v1", "RENAME MyTrash Bin") == ["v1 OK Rename completed"]
        c.cmd("v2", "CREATE Box")
        assert c.cmd("v3", "RENAME Old Box.Sub") == [
            "v3 OK Rename completed"]
        assert c.cmd("v4", "RENAME Box Crate") == ["v4 OK Rename completed"]
        assert special_list(c, "v5") == lines(
            "v5",
            '(\\Trash) "." Bin',
            '(\\Archive) "." Crate.Sub',
            '(\\Junk) "." Junk',
            '(\\Drafts \\Sent) "." MySpecial')
        assert c.cmd("v6", "DELETE Bin") == ["v6 OK Delete completed"]
        assert c.cmd("v7", "DELETE MySpecial") == ["v7 OK Delete completed"]
        assert special_list(c, "v8") == lines(
            "v8",
            '(\\Archive) "." Crate.Sub',
            '(\\Drafts) "." Drafts',
            '(\\Junk) "." Junk',
            '(\\Sent) "." Sent',
            '(\\Trash) "." Trash')
        # The plain LIST shows the uses too.
        assert c.cmd("v9", 'LIST "" Crate*') == [
            '* LIST (\\HasChildren) "." Crate',
            '* LIST (\\HasNoChildren \\Archive) "." Crate.Sub',
            "v9 OK List completed"]


def test_create_special_use_refused(daemon):
    with daemon.imap() as c:
        c.login()
        for tag, params, text in (
                ("a", "()", "Empty CREATE parameter list"),
                ("b", "(USE)", "USE needs a list of attributes"),
                ("c", "(USE \\Trash)", "USE needs a list of attributes"),
                ("d", "(USE (Trash))", "USE needs a list of attributes"),
                ("e", '(USE ("\\\\Trash"))', "USE needs a list of attributes"),
                ("f", "(COLOR (red))", "Unknown CREATE parameter")):
            assert c.cmd(tag, "CREATE X %s" % params) == [
                "%s BAD %s" % (tag, text)]
        assert c.cmd("g", "CREATE X Y") == [
            "g BAD CREATE needs a mailbox name"]
        assert c.cmd("h", 'LIST "" X') == ["h OK List completed"]


def test_list_status_of_a_folder_gone_meanwhile(daemon):
    """RFC 5819 2: a folder whose STATUS fails because it cannot be
    selected any more gets no STATUS, and \\Noselect on its LIST line.
    A folder that is a symbolic link to a directory moved away is
    listed (its name is in the Maildir) but is gone when looked up, as
    one deleted between the two would be."""
    with daemon.imap() as c:
        c.login()
        daemon.folder_dir("alice", "Gone").symlink_to(
            daemon.folder_dir("alice", "Moved-away"))
        assert c.cmd("a", 'LIST "" G% RETURN (STATUS (MESSAGES))') == [
            '* LIST (\\Noselect) "." Gone', "a OK List completed"]
