"""The bridges between the app's background threads (database, camera, sync, the keyboard's scans) and the UI thread."""
