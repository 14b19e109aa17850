"""The CNI front-end on a host: the protocol (pure) and the agent's CNI service."""
