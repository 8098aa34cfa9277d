/*
 * The admin port of the running daemon: its token, the services it
 * lists (the rows of lib/status.h, from IMAP, LMTP and the notifier),
 * the endpoints it shows, and its life.
 */
#ifndef MB_DAEMON_ADMIN_SETUP_H
#define MB_DAEMON_ADMIN_SETUP_H

struct daemon;

/* Read [admin] token_file, if set, into d->admin_token; exits with a
 * message naming the file if it cannot be used. Call it before
 * privileges are dropped: the file may be root's alone. */
void admin_setup_token(struct daemon *d);
/* Serve the admin port on its bound sockets, once the services it
 * lists run; exits if libevent cannot take a socket. */
void admin_setup_start(struct daemon *d);
/* Close the admin port and wipe the token. */
void admin_setup_stop(struct daemon *d);

#endif
