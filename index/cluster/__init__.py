"""The archive sharded over a cluster, with the answers of one index: see docs/scale.md."""
