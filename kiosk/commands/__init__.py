"""The command line's commands besides running the kiosk: the desk, joining and syncing, imports, printing, SIP2."""
