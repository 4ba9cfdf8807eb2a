"""A C2SP tlog-witness: cosigns a log's checkpoints once they are proven consistent with the
last one it cosigned, and refuses any fork."""
