"""
The real clients of test_imap_clients.py (curl, mbsync, neomutt) through
a front door: each test runs unchanged against node A of a cluster for
alice, who lives on node B, so every command and response crosses A's
proxy (imap-proxy.h); mail is delivered to B and B's Maildir read, as
the tests expect of "the daemon". Tests that restart the daemon stay in
test_imap_clients.py, and so does mbsync over TLS: it checks a server's
name against DNS names alone, and the nodes' certificate names
127.0.0.1 as an address (neomutt's TLS test runs here).
"""

import pytest

from cluster_imap_support import (ThroughFrontDoor, start_nodes, stop_nodes,
                                  two_nodes)
from cluster_support import nats_cluster  # noqa: F401
# Collected here, where the daemon fixture below replaces conftest's.
from test_imap_clients import (  # noqa: F401
    test_curl_append_then_fetch_with_sasl_plain,
    test_curl_checks_uidvalidity_in_the_url,
    test_curl_examine_and_status_report_what_was_delivered,
    test_curl_fetches_messages_by_uid_index_and_section,
    test_curl_list_shows_inbox_and_special_use_folders,
    test_curl_search_follows_seen_flag_set_by_fetch,
    test_curl_wrong_password_is_refused,
    test_mbsync_deliveries_during_a_sync_are_neither_lost_nor_doubled,
    test_mbsync_folder_names_with_spaces_both_ways,
    test_mbsync_local_changes_reach_the_server,
    test_mbsync_mirrors_200_messages_byte_for_byte,
    test_mbsync_sasl_plain_and_refused_password,
    test_mbsync_server_changes_reach_the_local_maildir,
    test_neomutt_flags_deletes_and_sees_new_mail,
    test_neomutt_follows_changes_made_by_another_client,
    test_neomutt_opens_a_200_message_folder,
    test_neomutt_resyncs_from_its_header_cache_with_qresync,
    test_neomutt_saves_messages_to_a_new_and_an_existing_folder,
    test_neomutt_shows_a_mime_message_and_its_attachment,
    test_neomutt_with_certificate_verification,
)


@pytest.fixture
def daemon(tmp_path, nats_cluster):  # noqa: F811
    """Node a as alice (and bob), who live on node b, see it."""
    cluster = start_nodes(two_nodes(tmp_path / "mail", nats_cluster))
    cluster.add_user("alice", "b")
    cluster.add_user("bob", "b")
    yield ThroughFrontDoor(cluster["a"], cluster["b"], cluster.cert,
                           tmp_path)
    # Every login at a was passed on to b; a served nothing itself.
    a = cluster["a"]
    assert a.metric('imap_logins_total{result="ok"}') == \
        a.metric("imap_proxied_total")
    assert "landed:" not in a.log()
    stop_nodes(cluster)
