"""The command line (typer): `ticketledger ...`."""
