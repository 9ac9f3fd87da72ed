"""ticketledger: an event-sourced ledger for help-desk tickets."""
