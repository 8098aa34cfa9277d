/*
 * Mailbox pattern matching for LIST and LSUB, by dynamic programming over
 * the name (one row of booleans), so patterns like "*a*a*a*b" cost the
 * same as any other of their length: no backtracking.
 */
#include "imap/imap-match.h"

#include <string.h>

#include "lib/limits.h"

bool
imap_match(const char *pattern, const char *name, char sep)
{
	bool row[FOLDER_NAME_MAX + 1];
	size_t m = strlen(name), j;
	size_t inbox_len = 0;

	if (m > FOLDER_NAME_MAX)
		return false;
	if (strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' ||
	    name[5] == sep))
		inbox_len = 5;
	memset(row, 0, sizeof(bool) * (m + 1));
	row[0] = true;	/* the empty pattern matches the empty name */
	for (const char *p = pattern; *p != '\0'; p++) {
		char pc = *p;

		if (pc == '*') {
			for (j = 1; j <= m; j++)
				row[j] = row[j] || row[j - 1];
		} else if (pc == '%') {
			for (j = 1; j <= m; j++)
				row[j] = row[j] ||
				    (row[j - 1] && name[j - 1] != sep);
		} else {
			for (j = m; j >= 1; j--) {
				char nc = name[j - 1];
				bool eq = nc == pc;

				/* INBOX in any case */
				if (!eq && j <= inbox_len &&
				    pc >= 'a' && pc <= 'z')
					eq = nc == pc - 'a' + 'A';
				row[j] = row[j - 1] && eq;
			}
			row[0] = false;
		}
	}
	return row[m];
}
