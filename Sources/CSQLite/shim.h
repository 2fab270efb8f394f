// SQLite from Debian's libsqlite3-dev (the MajorDomo's and `cp graph build`'s state store).
#include <sqlite3.h>
