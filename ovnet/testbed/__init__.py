"""Test beds: hypervisors and workloads as network namespaces, for tests and the demo."""
