"""The SQLite store: the connection, its schema, and the queries the read path makes."""
