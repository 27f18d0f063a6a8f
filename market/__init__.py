"""The R&D task marketplace: domain, database, HTTP API and pages."""
