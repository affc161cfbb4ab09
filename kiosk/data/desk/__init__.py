"""The desk's tools: imports (rosters, catalogues), cards and labels, term reports, the SIP2 terminals."""
