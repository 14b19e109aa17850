"""Helpers every test tier may import (test modules never import one another): real processes
(apiserver, pg), the all-in-one's settings, host-side namespaces and API networks, NB checks,
sample model data, VM boot checks and the one ``wait_for``."""
