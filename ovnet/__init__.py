"""ovnet: one virtual network for containers and VMs, a Neutron-compatible control plane over OVN."""

__version__ = "0.1.0"
