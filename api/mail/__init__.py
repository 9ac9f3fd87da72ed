"""E-mail in and out: messages read into what the desk acts on, and notices sent."""
