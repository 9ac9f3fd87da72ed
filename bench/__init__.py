"""The benchmark: the ledger's figures beside raw operations of the same
database and driver, measured in the same run, interleaved (A B A B), and
reported as medians with their range and as ratios. `python -m bench --help`."""
