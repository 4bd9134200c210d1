"""Live market-data ingest: the feed supervisor, the capture recorder and capture replay."""
