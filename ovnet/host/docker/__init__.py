"""Docker on ovnet: a libnetwork remote NetworkDriver and IpamDriver served by the host agent.

``protocol`` parses what dockerd sends, ``app`` dispatches calls and maps errors to libnetwork's
wire format, ``server`` serves the app on ``/run/docker/plugins/<name>.sock``; ``ipam`` and
``network`` map the calls onto ovnet's Neutron API. Reference: shared/reference/libnetwork.md.
"""
