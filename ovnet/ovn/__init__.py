"""OVN: the pure model -> NB translation, NB access and the syncer."""
