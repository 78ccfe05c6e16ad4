"""Dataset layer: schema (the contract), dataset (validated frames), formats/ (real file layouts), ingest, pseudonym."""
