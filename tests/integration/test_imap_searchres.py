"""
SEARCHRES (RFC 5182): SEARCH RETURN (SAVE) keeps its result as "$", which
FETCH, STORE, COPY, MOVE, UID EXPUNGE and SEARCH take where a sequence set
goes, by sequence number or UID; "$" follows expunges, is reset by SELECT,
is empty before any SAVE and after a SAVE search that failed. On the
mailbox of imap_search_support.py: messages 1 to 6 with UIDs 1 to 6,
unseen 2, 4, 5 and 6, flagged 2, deleted 3.
"""

from conftest import imap_raw_login
from imap_search_support import prepare


def uids_of(lines):
    """The UIDs of "* n FETCH (UID u)" lines, as (n, u) pairs."""
    out = []
    for r in lines[:-1]:
        parts = r.replace(b"(", b" ").replace(b")", b" ").split()
        assert parts[0] == b"*" and parts[2] == b"FETCH", r
        out.append((int(parts[1]), int(parts[parts.index(b"UID") + 1])))
    return out


def fetch_saved(c, tag="f", uid=False):
    lines = c.run(tag, ("UID " if uid else "") + "FETCH $ (UID)")
    assert lines[-1] == tag.encode() + b" OK %sFETCH completed" % (
        b"UID " if uid else b""), lines
    return uids_of(lines)


def test_capability(daemon):
    c = prepare(daemon)
    assert b"SEARCHRES" in c.run("c", "CAPABILITY")[0].split()


def test_save_then_fetch(daemon):
    """RFC 5182's first example: SAVE alone answers with the tagged OK
    only, and FETCH $ fetches the saved messages."""
    c = prepare(daemon)
    assert c.run("A282", "SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 "
                 "NOT FROM \"Smith\"") == [
        b"A282 OK SEARCH completed, result saved"]
    assert c.run("A283", "FETCH $ (UID FLAGS)") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged))",
        b"A283 OK FETCH completed"]
    assert c.run("u", "UID SEARCH RETURN (SAVE) UNSEEN") == [
        b"u OK UID SEARCH completed, result saved"]
    assert fetch_saved(c) == [(2, 2), (4, 4), (5, 5), (6, 6)]
    assert fetch_saved(c, uid=True) == [(2, 2), (4, 4), (5, 5), (6, 6)]


def test_empty_before_save(daemon):
    c = prepare(daemon)
    assert fetch_saved(c) == []
    assert c.run("s", "SEARCH $") == [b"* SEARCH", b"s OK SEARCH completed"]
    assert c.run("t", "STORE $ +FLAGS (\\Seen)") == [
        b"t OK STORE completed"]


def test_save_with_other_options(daemon):
    """RFC 5182 2.4: with MIN and/or MAX alone "$" is those; with ALL or
    COUNT it is every match. The ESEARCH response is as without SAVE."""
    c = prepare(daemon)
    for tag, opts, reply, saved in [
            ("m1", "SAVE MIN", "MIN 2", [2]),
            ("m2", "MAX SAVE", "MAX 6", [6]),
            ("m3", "SAVE MIN MAX", "MIN 2 MAX 6", [2, 6]),
            ("m4", "SAVE MIN COUNT", "MIN 2 COUNT 4", [2, 4, 5, 6]),
            ("m5", "SAVE ALL", "ALL 2,4:6", [2, 4, 5, 6])]:
        assert c.run(tag, "SEARCH RETURN (%s) UNSEEN" % opts) == [
            b'* ESEARCH (TAG "%s") %s' % (tag.encode(), reply.encode()),
            b"%s OK SEARCH completed, result saved" % tag.encode()], opts
        assert [u for _, u in fetch_saved(c)] == saved, opts
    # Nothing found: "$" is empty.
    assert c.run("n", "SEARCH RETURN (SAVE MIN) NEW") == [
        b'* ESEARCH (TAG "n")', b"n OK SEARCH completed, result saved"]
    assert fetch_saved(c) == []


def test_dollar_in_commands(daemon):
    c = prepare(daemon)
    assert c.run("a", "SEARCH RETURN (SAVE) OR FLAGGED DRAFT") == [
        b"a OK SEARCH completed, result saved"]
    # SEARCH: "$" and "UID $" name the saved messages.
    assert c.run("s1", "SEARCH $") == [b"* SEARCH 2 4",
                                       b"s1 OK SEARCH completed"]
    assert c.run("s2", "UID SEARCH UID $ NOT DRAFT") == [
        b"* SEARCH 2", b"s2 OK UID SEARCH completed"]
    assert c.run("s3", "SEARCH NOT $") == [b"* SEARCH 1 3 5 6",
                                           b"s3 OK SEARCH completed"]
    # A SAVE search that uses "$" sees the previous result.
    assert c.run("s4", "SEARCH RETURN (SAVE ALL) $ DRAFT") == [
        b'* ESEARCH (TAG "s4") ALL 4', b"s4 OK SEARCH completed, result saved"]
    assert c.run("s5", "SEARCH RETURN (SAVE) OR FLAGGED DRAFT")[-1] == (
        b"s5 OK SEARCH completed, result saved")
    # STORE and UID STORE.
    assert c.run("t1", "STORE $ +FLAGS (\\Seen)") == [
        b"* 2 FETCH (FLAGS (\\Flagged \\Seen))",
        b"* 4 FETCH (FLAGS (\\Seen \\Draft))",
        b"t1 OK STORE completed"]
    assert c.run("t2", "UID STORE $ -FLAGS.SILENT (\\Seen)") == [
        b"t2 OK UID STORE completed"]
    # COPY, UID COPY and MOVE.
    v = c.uidvalidity("Trash")
    assert c.run("c1", "COPY $ Trash") == [
        b"c1 OK [COPYUID %d 2,4 1:2] COPY completed" % v]
    assert c.run("c2", "UID COPY $ Trash") == [
        b"c2 OK [COPYUID %d 2,4 3:4] UID COPY completed" % v]
    assert c.run("c3", "MOVE $ Trash") == [
        b"* OK [COPYUID %d 2,4 5:6] Moved" % v, b"* 2 EXPUNGE",
        b"* 3 EXPUNGE", b"c3 OK MOVE completed"]
    # Both moved away: "$" names nothing now.
    assert fetch_saved(c) == []


def test_follows_expunge(daemon):
    c = prepare(daemon)
    assert c.run("a", "SEARCH RETURN (SAVE) UNSEEN")[-1].startswith(b"a OK")
    assert c.run("d", "STORE 4 +FLAGS.SILENT (\\Deleted)") == [
        b"d OK STORE completed"]
    assert c.run("x", "EXPUNGE") == [b"* 3 EXPUNGE", b"* 3 EXPUNGE",
                                     b"x OK EXPUNGE completed"]
    # UIDs 2, 5 and 6 remain, now messages 2, 3 and 4.
    assert fetch_saved(c) == [(2, 2), (3, 5), (4, 6)]
    assert c.run("e", "UID EXPUNGE $") == [b"e OK UID EXPUNGE completed"]
    # Another session expunges UID 5: "$" keeps the numbers until told.
    assert c.run("d2", "UID STORE 5 +FLAGS.SILENT (\\Deleted)")[-1] == (
        b"d2 OK UID STORE completed")
    other = imap_raw_login(daemon)
    other.select()
    assert other.run("x", "EXPUNGE")[-1] == b"x OK EXPUNGE completed"
    assert c.run("n", "NOOP") == [b"* 3 EXPUNGE", b"n OK NOOP completed"]
    assert fetch_saved(c) == [(2, 2), (3, 6)]


def test_reset_by_select_and_failure(daemon):
    c = prepare(daemon)
    assert c.run("a", "SEARCH RETURN (SAVE) UNSEEN")[-1].startswith(b"a OK")
    c.select()
    assert fetch_saved(c) == []
    assert c.run("b", "SEARCH RETURN (SAVE) UNSEEN")[-1].startswith(b"b OK")
    c.select("INBOX", examine=True)
    assert fetch_saved(c) == []
    # BAD leaves "$" as it was (RFC 5182 2.1) ...
    assert c.run("c", "SEARCH RETURN (SAVE) UNSEEN")[-1].startswith(b"c OK")
    assert c.run("d", "SEARCH RETURN (SAVE) FOO") == [
        b"d BAD Unknown search key"]
    assert c.run("e", "SEARCH $ RETURN (SAVE)") == [
        b"e BAD Unknown search key"]
    assert [u for _, u in fetch_saved(c)] == [2, 4, 5, 6]
    # ... NO to a SAVE search empties it.
    assert c.run("g", "SEARCH RETURN (SAVE MIN) CHARSET KOI8-R ALL") == [
        b"g NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"]
    assert fetch_saved(c) == []
    # A NO without SAVE leaves it alone.
    assert c.run("h", "SEARCH RETURN (SAVE) UNSEEN")[-1].startswith(b"h OK")
    assert c.run("i", "SEARCH CHARSET KOI8-R ALL")[0].startswith(b"i NO")
    assert [u for _, u in fetch_saved(c)] == [2, 4, 5, 6]
