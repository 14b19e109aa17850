"""Host side: VIF plugging, the local OVS, the host agent and its front-ends."""
