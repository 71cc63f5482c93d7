"""
The back-ends: where statuses come from.  Each provides
L{finger.interfaces.IFingerService}, and those that can store a status
L{finger.interfaces.IFingerSetterService} as well.

    - L{finger.backends.file}: the status file (the default), kept on disk
      by L{finger.backends.statusfile}, in the format of
      L{finger.backends.statusformat}, under the lock of
      L{finger.backends.statuslock};
    - L{finger.backends.sql}: SQLite or PostgreSQL, with
      L{finger.backends.sqlstore}, its blocking half, run in threads,
      L{finger.backends.sqlschema}, its table, L{finger.backends.sqlrows},
      the check of what the table holds, and L{finger.backends.sqlhints},
      when notifications make it read the changes;
    - L{finger.backends.memory}: a table in memory, and
      L{finger.backends.memory.StatusTable}, what every back-end that
      answers from one (memory, file, sql) shares;
    - L{finger.backends.local}: the system's accounts and their C{~/.plan};
    - L{finger.backends.command}: the system's finger program;
    - L{finger.backends.http}: a web page per user;
    - L{finger.backends.proxy}: another finger server;
    - L{finger.backends.asking}: what those that ask elsewhere for each
      status (command, http, proxy) share.

A back-end never imports a front-end.
"""
