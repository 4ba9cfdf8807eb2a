"""The bus: topology, publication, consumers with bounded retries, outbox and inbox."""
