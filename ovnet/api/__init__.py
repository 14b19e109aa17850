"""The Neutron v2.0 compatible REST API and its authentication."""
