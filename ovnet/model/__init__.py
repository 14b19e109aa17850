"""The network model: resources, validation, IPAM, tenancy rules and the SQL schema (the source of truth)."""
