"""The kiosk process's own plumbing: its log file and keeping C libraries' output off the screen."""
